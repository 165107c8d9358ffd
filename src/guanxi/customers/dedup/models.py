"""Merges of duplicate customers and pairs a user marked as "not the same company"."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MergeRecord(models.Model):
    """`merged` was merged into `survivor`. `snapshot` holds what is needed to undo it
    (the survivor's previous field values and the ids of every moved record by type)."""

    survivor = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("保留客户")
    )
    merged = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("被合并客户"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("合并时间"), auto_now_add=True)
    field_choices = models.JSONField(_("字段取舍"), default=dict, blank=True)
    snapshot = models.JSONField(_("撤销快照"), default=dict, blank=True)
    reversed_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("撤销人"),
    )

    class Meta:
        verbose_name = _("客户合并记录")
        verbose_name_plural = _("客户合并记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class DuplicateDismissal(models.Model):
    """A candidate pair a user reviewed and judged to be two different companies."""

    customer_low = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    customer_high = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("非重复客户对")
        verbose_name_plural = _("非重复客户对")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_low", "customer_high"], name="duplicate_dismissal_unique_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(customer_low__lt=models.F("customer_high")),
                name="duplicate_dismissal_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_low_id} ≠ {self.customer_high_id}"
