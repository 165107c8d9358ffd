from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "guanxi.policy"
    label = "policy"
    verbose_name = _("管理制度（策略包）")
