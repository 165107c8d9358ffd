from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "guanxi.ledger"
    label = "ledger"
    verbose_name = _("出货回款")

    def ready(self) -> None:
        from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS

        # Readable names of this app's audit actions in histories and the audit search.
        ACTION_LABELS.update(
            {
                "shipment.recorded": _("登记出货"),
                "shipment.reversed": _("冲销出货"),
                "payment.recorded": _("登记回款"),
                "payment.reversed": _("冲销回款"),
                "order.recorded": _("登记销售订单"),
                "order.cancelled": _("取消销售订单"),
                "payment_terms.set": _("设置账期"),
                "price_coefficient.proposed": _("申请单价系数"),
                "price_coefficient.approved": _("批准单价系数"),
                "price_coefficient.rejected": _("驳回单价系数"),
                "ledger.imported": _("导入出货回款"),
                "ledger.exported": _("导出客户出货回款信息表"),
            }
        )
