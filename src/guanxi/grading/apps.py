from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "guanxi.grading"
    label = "grading"
    verbose_name = _("客户分级")
