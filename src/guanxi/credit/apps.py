from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "guanxi.credit"
    label = "credit"
    verbose_name = _("资信管理")

    def ready(self) -> None:
        from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS

        # Readable names of this app's audit actions in histories and the audit search.
        ACTION_LABELS.update(
            {
                "credit_limit.proposed": _("提交信用额度申请"),
                "credit_limit.approved": _("批准信用额度"),
                "credit_limit.rejected": _("驳回信用额度"),
                "credit_limit.escalated": _("信用额度审批逾期提醒"),
                "credit_round.opened": _("开启季度额度申报"),
                "credit_rating.rated": _("评定资信等级"),
                "credit_override.requested": _("申请超额度出货特批"),
                "credit_override.approved": _("批准超额度出货特批"),
                "credit_override.rejected": _("驳回超额度出货特批"),
                "credit_override.consumed": _("使用超额度出货特批"),
                "credit_investigation.opened": _("发起资信调查"),
                "credit_investigation.closed": _("资信调查结案"),
                "credit_report.exported": _("导出客户资信报表"),
                "sales_report.exported": _("导出销售回款汇总"),
            }
        )
