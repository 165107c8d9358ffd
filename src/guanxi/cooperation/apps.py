from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CooperationConfig(AppConfig):
    name = "guanxi.cooperation"
    label = "cooperation"
    verbose_name = _("合作状态")

    def ready(self) -> None:
        from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS, EXTRA_LABELS

        # Readable names of this app's audit actions and change keys in histories.
        ACTION_LABELS.update(
            {
                "cooperation.status_changed": _("变更合作状态"),
                "cooperation.monthly_confirmed": _("确认月度合作状态"),
                "special_review.opened": _("开启专题评审"),
                "special_review.outcome_recorded": _("记录专题会议结论"),
                "special_review.owner_reassigned": _("专题评审更换负责人"),
                "special_review.closed": _("结束专题评审"),
            }
        )
        EXTRA_LABELS.update(
            {
                "cooperation_status": _("合作状态"),
                "upgrade_counted": _("计入升级"),
                "month": _("月份"),
                "owner": _("负责人"),
            }
        )
