from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CooperationConfig(AppConfig):
    name = "guanxi.cooperation"
    label = "cooperation"
    verbose_name = _("合作状态")
