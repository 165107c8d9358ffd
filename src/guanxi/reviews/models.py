"""The annual review cycle (年度评定) and the grade lifecycle (MISSION §2).

- ReviewCycle: one annual review. open (初评: owners rate their customers on
  《客户等级评定表》) → review (复评: the sales director adjusts in the review meeting) →
  submitted (待批准) → effective (总经理批准, the grades take effect together and
  《年度重要顾客一览表》 is produced); cancelled at any point before. At most one cycle is
  in progress (unique constraint on `in_progress`). Policy: reviews.cycle_window,
  reviews.key_grades.
- ReviewEntry: one customer in a cycle: the system's proposal (grading engine, computed at
  opening), the owner's initial rating with reasons, the director's adjustment, and the
  final grade written at approval. Nothing here changes Customer.grade before approval.
- ProvisionalReview: a new customer's provisional grade confirmed after
  reviews.provisional_months (outside the annual cycle). Append-only.
- TreatmentApplication: a B/C customer raised to A treatment on an approved application
  (reviews.treatment_raise); one pending application per customer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, CustomerChild, CustomerScopedQuerySet


def _user(verbose: Any, *, null: bool = True) -> Any:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=null,
        blank=null,
        related_name="+",
        verbose_name=verbose,
    )


class ReviewCycle(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("初评中")
        REVIEW = "review", _("复评中")
        SUBMITTED = "submitted", _("待总经理批准")
        EFFECTIVE = "effective", _("已生效")
        CANCELLED = "cancelled", _("已取消")

    year = models.PositiveIntegerField(_("评定年度"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    # True while open/review/submitted, NULL afterwards: the unique constraint keeps one
    # cycle in progress at a time.
    in_progress = models.BooleanField(_("进行中"), null=True, default=True)
    starts_on = models.DateField(_("评定开始日期"))
    ends_on = models.DateField(_("评定截止日期"))
    policy_version = models.PositiveIntegerField(_("建议等级所用策略版本"), default=0)
    bands = models.JSONField(_("等级（开启时）"), default=list)
    key_grades = models.JSONField(_("重要顾客等级"), default=list, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    opened_by = _user(_("开启人"), null=False)
    opened_at = models.DateTimeField(_("开启时间"))
    review_started_by = _user(_("复评发起人"))
    review_started_at = models.DateTimeField(_("复评开始时间"), null=True, blank=True)
    submitted_by = _user(_("提交人"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_by = _user(_("批准人"))
    approved_at = models.DateTimeField(_("批准生效时间"), null=True, blank=True)
    approval_note = models.CharField(_("批准意见"), max_length=300, blank=True)
    cancelled_by = _user(_("取消人"))
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    changed = models.PositiveIntegerField(_("等级变化数"), default=0)

    class Meta:
        verbose_name = _("年度评定")
        verbose_name_plural = _("年度评定")
        ordering = ["-year", "-id"]
        permissions = [
            ("open_reviewcycle", _("开启或取消年度评定")),
            ("adjust_reviewcycle", _("复评调整客户等级（评审会议）")),
            ("approve_reviewcycle", _("批准年度评定")),
            ("view_dashboard", _("查看管理驾驶舱")),
            ("view_lifecycle", _("查看待复评、淘汰候选与增长排名")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["in_progress"],
                condition=Q(in_progress=True),
                name="reviews_one_cycle_in_progress",
            ),
            models.UniqueConstraint(
                fields=["year"],
                condition=~Q(status="cancelled"),
                name="reviews_one_cycle_per_year",
            ),
        ]

    def __str__(self) -> str:
        return str(_("%(year)s年度客户等级评定") % {"year": self.year})


class ReviewEntry(CustomerChild):
    cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.PROTECT, related_name="entries", verbose_name=_("年度评定")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    previous_grade = models.CharField(_("原等级"), max_length=20, blank=True)
    proposed_grade = models.CharField(_("系统建议等级"), max_length=20)
    proposed_score = models.DecimalField(_("系统评分"), max_digits=5, decimal_places=2)
    initial_grade = models.CharField(_("初评等级"), max_length=20, blank=True)
    initial_reason = models.CharField(_("初评理由"), max_length=500, blank=True)
    rated_by = _user(_("初评人"))
    rated_at = models.DateTimeField(_("初评时间"), null=True, blank=True)
    adjusted_grade = models.CharField(_("复评等级"), max_length=20, blank=True)
    adjustment_reason = models.CharField(_("复评说明"), max_length=500, blank=True)
    adjusted_by = _user(_("复评人"))
    adjusted_at = models.DateTimeField(_("复评时间"), null=True, blank=True)
    final_grade = models.CharField(_("最终等级"), max_length=20, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户等级评定")
        verbose_name_plural = _("客户等级评定")
        ordering = ["cycle", "id"]
        permissions = [
            ("rate_reviewentry", _("初评客户等级（填写客户等级评定表）")),
            ("export_reviewentry", _("导出客户等级评定表和年度重要顾客一览表")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "customer"], name="reviews_entry_unique")
        ]
        indexes = [models.Index(fields=["customer", "cycle"], name="reviews_entry_customer_idx")]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.customer_id}: {self.decided_grade}"

    @property
    def decided_grade(self) -> str:
        """The grade the cycle would set now: adjustment, else initial rating, else the
        system's proposal."""
        return self.final_grade or self.adjusted_grade or self.initial_grade or self.proposed_grade


class ProvisionalReview(CustomerChild):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    previous_grade = models.CharField(_("暂定等级"), max_length=20, blank=True)
    grade = models.CharField(_("确认等级"), max_length=20)
    reason = models.CharField(_("复评意见"), max_length=500)
    reviewed_by = _user(_("复评人"), null=False)
    reviewed_at = models.DateTimeField(_("复评时间"))

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("新客户等级复评")
        verbose_name_plural = _("新客户等级复评")
        ordering = ["-reviewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.previous_grade or '—'} → {self.grade}"


class TreatmentApplication(CustomerChild):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    grade = models.CharField(_("申请时等级"), max_length=20)
    requested_grade = models.CharField(_("申请享受待遇等级"), max_length=20)
    reason = models.CharField(_("申请理由"), max_length=500)
    applied_by = _user(_("申请人"), null=False)
    applied_at = models.DateTimeField(_("申请时间"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    decided_by = _user(_("审批人"))
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("高等级待遇申请")
        verbose_name_plural = _("高等级待遇申请")
        ordering = ["-applied_at", "-id"]
        permissions = [("decide_treatmentapplication", _("审批高等级待遇申请"))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="pending"),
                name="reviews_one_pending_application",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.grade} → {self.requested_grade}"
