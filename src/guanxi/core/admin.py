"""Admin site wiring shared by every app: the site titles, an audited ModelAdmin base, and
the company's working-day overrides.

The admin is where administrators keep users, departments, roles, reference data and the
policy pack. Writes made here are audited like any other write: through the app's service
where one exists, otherwise by AuditedAdminMixin, always with source "admin".
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import chinese_calendar
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guanxi.audit import services as audit
from guanxi.audit.context import AuditContext, current, using
from guanxi.core.models import WorkdayOverride

admin.site.site_header = _("关系 · 客户管理系统 管理后台")
admin.site.site_title = _("关系 · 管理后台")
admin.site.index_title = _("系统管理")
admin.site.site_url = "/"

# Never copied into an audit row.
_SECRET_FIELDS = {"password"}


@contextlib.contextmanager
def admin_source() -> Iterator[None]:
    """Mark audit rows written during an admin request as coming from the admin."""
    with using(AuditContext(ip=current().ip, source="admin")):
        yield


def adopt_saved(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved instance stand for the row a service created.

    The admin keeps working with its own instance after save_model (inlines, the log entry,
    the redirect), so it must carry the new primary key and the values the service stored.
    """
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def audit_snapshot(obj: models.Model, field_names: list[str]) -> dict[str, Any]:
    """Readable values of the named model fields (choices as labels, relations as names)."""
    values: dict[str, Any] = {}
    for name in field_names:
        if name in _SECRET_FIELDS:
            continue
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.many_to_many:
            values[name] = sorted(str(item) for item in getattr(obj, name).all()) if obj.pk else []
        elif field.is_relation:
            if not field.concrete or getattr(obj, field.attname) is None:
                values[name] = None
            else:
                values[name] = str(getattr(obj, name))
        else:
            assert isinstance(field, models.Field)  # a concrete, non-relation field
            value = getattr(obj, field.attname)
            if field.choices:
                value = dict(field.flatchoices).get(value, value)
            values[name] = value
    return values


# For the type checker the mixin is a ModelAdmin (its super() calls go there); at run time
# it stays a plain mixin so it can come first in the MRO.
_AdminBase = admin.ModelAdmin if TYPE_CHECKING else object


class AuditedAdminMixin(_AdminBase):  # type: ignore[valid-type, misc]
    """Audit every admin write with source "admin".

    Saves are recorded as "<model>.created" / "<model>.updated" with {field: [old, new]}
    unless `audit_saves` is False (the admin then calls a service that audits itself).
    Deletes are always recorded, before the row disappears.
    """

    audit_saves = True

    # --- the admin views run inside the "admin" audit source ------------------------------
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with admin_source():
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with admin_source():
            return super().delete_view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Bulk actions (and list_editable) run here.
        with admin_source():
            return super().changelist_view(request, *args, **kwargs)

    # --- saving --------------------------------------------------------------------------
    def audit_action(self, obj: models.Model, verb: str) -> str:
        return f"{obj._meta.model_name}.{verb}"

    def audit_fields(self, form: Any) -> list[str]:
        return [name for name in form.fields if name not in _SECRET_FIELDS]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if self.audit_saves:
            before: dict[str, Any] = {}
            if change:
                old = type(obj)._default_manager.filter(pk=obj.pk).first()
                if old is not None:
                    before = audit_snapshot(old, self.audit_fields(form))
            form._audit_before = before
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not self.audit_saves:
            return
        obj = form.instance
        after = audit_snapshot(obj, self.audit_fields(form))
        if change:
            changes = audit.diff(getattr(form, "_audit_before", {}), after)
            if not changes:
                return
        else:
            changes = {k: [None, v] for k, v in after.items() if v not in (None, "", [])}
        audit.record(
            actor=request.user,
            action=self.audit_action(obj, "updated" if change else "created"),
            obj=obj,
            changes=changes,
        )

    # --- deleting ------------------------------------------------------------------------
    def _audit_delete(self, request: HttpRequest, obj: models.Model) -> None:
        names = [f.name for f in obj._meta.concrete_fields if not f.primary_key]
        snapshot = audit_snapshot(obj, names)
        audit.record(
            actor=request.user,
            action=self.audit_action(obj, "deleted"),
            obj=obj,
            changes={k: [v, None] for k, v in snapshot.items() if v not in (None, "", [])},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._audit_delete(request, obj)
            super().delete_queryset(request, queryset)


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


def _statutory_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(AuditedModelAdmin):
    """Company exceptions to China's statutory calendar (with 调休 make-up days)."""

    list_display = ("date", "weekday", "statutory", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "date"
    fields = ("date", "is_workday", "note")

    @admin.display(description=_("星期"))
    def weekday(self, obj: WorkdayOverride) -> str:
        return "周" + "一二三四五六日"[obj.date.weekday()]

    @admin.display(description=_("法定日历"))
    def statutory(self, obj: WorkdayOverride) -> str:
        return str(_("工作日") if _statutory_workday(obj.date) else _("休息日"))
