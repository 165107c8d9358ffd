"""Cooperation status (合作状态), MISSION §3. Policy: cooperation.*.

- StatusChange: every change of a customer's status, with its reason and follow-up plan
  (a downgrade needs both), who made it, when, and where it came from. The customer's
  current value stays in Customer.cooperation_status, written only by this app's services.
- MonthlyUpdate: the owner's confirmation of each customer's status for a month, also when
  unchanged (cooperation.monthly_update_due_day).
- SpecialReview: the 专题会议 a drop of two levels or a fall to white/black opens for the
  sales director (cooperation.special_review_*); one open review per customer.
- UpgradeCredit: an upgrade counted for the leaderboard, at most once per owner, customer
  and period (cooperation.upgrade_period).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import ScopedQuerySet
from guanxi.customers.models import CustomerChild


class StatusChange(CustomerChild):
    """One change of a customer's cooperation status (append-only)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("手工调整")
        MONTHLY = "monthly", _("月度更新")
        IMPORT = "import", _("导入")
        REVIEW = "review", _("专题评审")

    class Direction(models.TextChoices):
        INITIAL = "initial", _("初始状态")
        UP = "up", _("升级")
        DOWN = "down", _("降级")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="status_changes",
        verbose_name=_("客户"),
    )
    from_status = models.CharField(_("原合作状态"), max_length=20, blank=True)
    to_status = models.CharField(_("合作状态"), max_length=20)
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    levels = models.PositiveSmallIntegerField(_("级数"), default=0)
    reason = models.TextField(_("原因（书面解释）"), blank=True)
    plan = models.TextField(_("后期解决办法/工作计划"), blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("当时的负责人"),
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("修改人"),
    )
    changed_at = models.DateTimeField(_("修改时间"), default=timezone.now, db_index=True)
    special_review = models.ForeignKey(
        "SpecialReview",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changes",
        verbose_name=_("专题评审"),
    )
    policy_version = models.PositiveIntegerField(_("策略版本"), default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("合作状态变更")
        verbose_name_plural = _("合作状态变更")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-changed_at"], name="coop_change_customer_idx"),
        ]
        permissions = [("view_update_progress", _("查看月度更新进度与升级排行"))]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_status or '—'} → {self.to_status}"


class MonthlyUpdate(CustomerChild):
    """The owner confirmed the customer's status for `month` (the first day of the month)."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="monthly_updates",
        verbose_name=_("客户"),
    )
    month = models.DateField(_("月份"))
    status = models.CharField(_("合作状态"), max_length=20)
    change = models.ForeignKey(
        StatusChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("本次变更"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("负责人"),
    )
    confirmed_at = models.DateTimeField(_("确认时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("月度合作状态更新")
        verbose_name_plural = _("月度合作状态更新")
        ordering = ["-month", "customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="coop_monthly_once")
        ]
        indexes = [models.Index(fields=["month", "owner"], name="coop_monthly_owner_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m}: {self.status}"


class SpecialReview(CustomerChild):
    """专题会议 on a customer whose status dropped too far (cooperation.special_review_*).
    The sales director records the meeting outcome, may reassign the owner, and closes it."""

    class Trigger(models.TextChoices):
        AT_ONCE = "at_once", _("一次降级达到规定级数")
        IN_WINDOW = "in_window", _("观察期内连续降级")
        TO_STATUS = "to_status", _("直接降至白色或黑色")

    class Status(models.TextChoices):
        OPEN = "open", _("待评审")
        CLOSED = "closed", _("已结束")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="special_reviews",
        verbose_name=_("客户"),
    )
    trigger = models.CharField(_("触发原因"), max_length=12, choices=Trigger.choices)
    from_status = models.CharField(_("观察期内最好状态"), max_length=20, blank=True)
    to_status = models.CharField(_("降至"), max_length=20)
    levels = models.PositiveSmallIntegerField(_("累计降级级数"), default=0)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("开启时的负责人"),
    )
    opened_at = models.DateTimeField(_("开启时间"), default=timezone.now, db_index=True)
    meeting_on = models.DateField(_("会议日期"), null=True, blank=True)
    outcome = models.TextField(_("会议结论"), blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结论记录人"),
    )
    outcome_at = models.DateTimeField(_("结论记录时间"), null=True, blank=True)
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更换后的负责人"),
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结束人"),
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    policy_version = models.PositiveIntegerField(_("策略版本"), default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("专题评审")
        verbose_name_plural = _("专题评审")
        ordering = ["-opened_at", "-id"]
        permissions = [("decide_specialreview", _("记录专题会议结论、更换负责人、结束评审"))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="open"),
                name="coop_one_open_review_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{_('专题评审')} #{self.pk}"


class UpgradeCredit(CustomerChild):
    """An upgrade counted for the owner's leaderboard: once per owner, customer and period
    (cooperation.upgrade_period), only above the status the period started with."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("负责人"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="upgrade_credits",
        verbose_name=_("客户"),
    )
    period_start = models.DateField(_("周期开始"))
    period = models.CharField(_("周期"), max_length=10)
    change = models.OneToOneField(
        StatusChange, on_delete=models.PROTECT, related_name="credit", verbose_name=_("升级")
    )
    baseline_status = models.CharField(_("周期开始时状态"), max_length=20, blank=True)
    to_status = models.CharField(_("升至"), max_length=20)
    created_at = models.DateTimeField(_("计入时间"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("升级计数")
        verbose_name_plural = _("升级计数")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "customer", "period", "period_start"],
                name="coop_upgrade_once_per_period",
            )
        ]
        indexes = [models.Index(fields=["period_start", "owner"], name="coop_credit_period_idx")]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.customer_id} {self.period_start}"
