"""The audit log in the admin: searchable and strictly read-only (append-only by design).

No one adds, changes or deletes audit events here, superusers included.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from guanxi.audit.models import AuditEvent


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_name", "action", "object_repr", "ip", "source")
    list_filter = ("action", "source", "at")
    date_hierarchy = "at"
    search_fields = ("object_repr", "actor_name", "action", "ip")
    list_select_related = ()
    # Counting millions of rows on every page view is the slow part of a big log.
    show_full_result_count = False
    list_per_page = 50
    fields = (
        "at",
        "actor",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "customer_id",
        "changes_table",
        "note",
        "ip",
        "source",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    @admin.display(description=_("变更（原值 → 新值）"))
    def changes_table(self, obj: AuditEvent) -> SafeString | str:
        if not obj.changes:
            return "—"
        rows = []
        for field, change in obj.changes.items():
            if isinstance(change, list) and len(change) == 2:
                rows.append((field, _shown(change[0]), _shown(change[1])))
            else:
                rows.append((field, "", _shown(change)))
        return format_html(
            "<table><tbody>{}</tbody></table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>→</td><td>{}</td></tr>", rows),
        )
