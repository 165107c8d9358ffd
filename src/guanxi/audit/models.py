"""Append-only audit log: who did what to which record, when, from where.

It is also the customer's change history: every row that concerns a customer (the
customer itself, its contacts, dates and attachments) carries `customer_id`, and
`changes` holds {field: [old, new]}.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ChangesEncoder(json.JSONEncoder):
    """The history's JSON with Chinese text as itself rather than as \\uXXXX escapes: on
    SQLite, which stores the text as given, a Chinese character takes 3 bytes instead of 6
    and a history row about half the space (an import writes two rows per customer);
    PostgreSQL's jsonb stores either form decoded. Any JSON reader reads both forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ensure_ascii"] = False
        super().__init__(*args, **kwargs)


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN001 - the log is append-only
        raise TypeError("audit events are never updated")

    def delete(self):
        raise TypeError("audit events are never deleted")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=60, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=60)
    object_id = models.CharField(_("对象ID"), max_length=40, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    customer_id = models.BigIntegerField(_("客户ID"), null=True, blank=True, db_index=True)
    changes = models.JSONField(_("变更"), default=dict, blank=True, encoder=ChangesEncoder)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=20, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("audit events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are never deleted")
