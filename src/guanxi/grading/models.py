"""Grades and what explains them. Policy: grading.model, grading.bands, grading.treatment.

- GradingRun: one computation of every customer's grade (CLI, background task, bench). It
  keeps the model it used, frozen: indicators, weights, and the thresholds actually applied
  (percentile cut values resolved for that run), plus the bands and the policy version.
- GradeScore: one customer's result in one run: grade, score and, per indicator of the
  run's model (same order), the raw value and the points. Weight and contribution come from
  the run's frozen model (grading.engine.breakdown), so a million rows stay small. The rows
  of a customer over the runs are its grade history.
- RoleScore: an indicator scored 0–5 by a role (e.g. industry potential by the
  marketing-planning manager). Append-only; the newest row per customer and indicator is
  `current` (a unique constraint keeps it to one).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, CustomerChild, CustomerScopedQuerySet


class GradingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    as_of = models.DateField(_("数据截至"))
    policy_version = models.PositiveIntegerField(_("策略版本"), default=0)
    model = models.JSONField(_("评分模型（本次使用）"), default=dict)
    bands = models.JSONField(_("等级分段（本次使用）"), default=list)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    graded = models.PositiveIntegerField(_("评级客户数"), default=0)
    changed = models.PositiveIntegerField(_("等级变化数"), default=0)
    distribution = models.JSONField(_("等级分布"), default=dict)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("评级批次")
        verbose_name_plural = _("评级批次")
        ordering = ["-id"]
        permissions = [("run_grading", _("计算全部客户等级"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.as_of}"


class GradeScore(CustomerChild):
    # No single-column indexes: (customer, -run) and the unique (run, customer) cover the
    # lookups, and a million-row run then maintains two indexes instead of four.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("客户"),
        db_index=False,
    )
    run = models.ForeignKey(
        GradingRun,
        on_delete=models.PROTECT,
        related_name="scores",
        verbose_name=_("评级批次"),
        db_index=False,
    )
    grade = models.CharField(_("等级"), max_length=20)
    score = models.DecimalField(_("总分"), max_digits=5, decimal_places=2)
    values = models.JSONField(_("指标原始值"), default=list)
    points = models.JSONField(_("指标得分"), default=list)
    computed_at = models.DateTimeField(_("计算时间"))

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户评分")
        verbose_name_plural = _("客户评分")
        ordering = ["-run_id"]
        indexes = [models.Index(fields=["customer", "-run"], name="grading_score_cust_run_idx")]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="grading_score_unique")
        ]

    def __str__(self) -> str:
        return f"{self.grade} {self.score}"


class RoleScore(CustomerChild):
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    indicator = models.CharField(_("指标"), max_length=40)
    points = models.DecimalField(_("评分（0–5）"), max_digits=3, decimal_places=2)
    note = models.CharField(_("评分说明"), max_length=300, blank=True)
    role = models.CharField(_("评分角色"), max_length=40)
    scored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("评分人"),
    )
    scored_at = models.DateTimeField(_("评分时间"))
    current = models.BooleanField(_("当前有效"), default=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色评分")
        verbose_name_plural = _("角色评分")
        ordering = ["-scored_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "indicator"], name="grading_rolescore_cust_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "indicator"],
                condition=Q(current=True),
                name="grading_rolescore_one_current",
            ),
            models.CheckConstraint(
                condition=Q(points__gte=0) & Q(points__lte=5), name="grading_rolescore_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator}: {self.points}"
