from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "guanxi.reviews"
    label = "reviews"
    verbose_name = _("年度评定")

    def ready(self) -> None:
        from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS, EXTRA_LABELS
        from guanxi.grading.selectors import TREATMENT_GRADE_HOOKS
        from guanxi.reviews.selectors import treatment_grades

        # An approved A-treatment application raises the grade a customer is treated as,
        # wherever grading.selectors.grade_treatment is asked.
        if treatment_grades not in TREATMENT_GRADE_HOOKS:
            TREATMENT_GRADE_HOOKS.append(treatment_grades)

        # Readable names of this app's audit actions and change keys in histories.
        ACTION_LABELS.update(
            {
                "review_cycle.opened": _("开启年度评定"),
                "review_entry.rated": _("年度评定初评"),
                "review_cycle.review_started": _("年度评定开始复评"),
                "review_entry.adjusted": _("年度评定复评调整"),
                "review_cycle.submitted": _("年度评定提交批准"),
                "review_cycle.returned": _("年度评定退回复评"),
                "review_cycle.approved": _("批准年度评定"),
                "review_cycle.grade_effective": _("年度评定等级生效"),
                "review_cycle.cancelled": _("取消年度评定"),
                "review_cycle.rating_form_exported": _("导出客户等级评定表"),
                "review_cycle.key_customers_exported": _("导出年度重要顾客一览表"),
                "reviews.provisional_confirmed": _("新客户等级复评"),
                "reviews.grade_confirmed": _("复评确认等级"),
                "reviews.treatment_applied": _("申请高等级待遇"),
                "reviews.treatment_approved": _("批准高等级待遇"),
                "reviews.treatment_rejected": _("驳回高等级待遇"),
            }
        )
        EXTRA_LABELS.update(
            {
                "customers": _("客户数"),
                "changed": _("等级变化数"),
                "rows": _("行数"),
                "treatment": _("待遇等级"),
            }
        )
