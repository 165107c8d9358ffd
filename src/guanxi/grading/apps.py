from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "guanxi.grading"
    label = "grading"
    verbose_name = _("客户分级")

    def ready(self) -> None:
        from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS

        # Readable names of this app's audit actions in histories and the audit search.
        ACTION_LABELS.update(
            {
                "grading.run_requested": _("发起客户评级"),
                "grading.run_completed": _("完成客户评级"),
                "grading.role_scored": _("角色评分"),
            }
        )
