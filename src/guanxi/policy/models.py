"""Versioned company policy.

A PolicyVersion overrides some rules from its effective moment on; the rules in force at a
moment are the registry defaults overlaid by every published version effective by then, in
order. Version 0 is the default pack (no row).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    number = models.PositiveIntegerField(_("版本号"), unique=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    effective_from = models.DateTimeField(_("生效时间"), db_index=True)
    note = models.CharField(_("修订说明"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发布人"),
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("策略版本")
        verbose_name_plural = _("策略版本")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number} {self.note}"


class PolicyValue(models.Model):
    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="values")
    key = models.CharField(_("规则"), max_length=80)
    value = models.JSONField(_("取值"))

    class Meta:
        verbose_name = _("规则取值")
        verbose_name_plural = _("规则取值")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="policy_value_unique_key")
        ]

    def __str__(self) -> str:
        return self.key
