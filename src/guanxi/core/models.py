"""Base models and the one data-scope mechanism (ScopedQuerySet.visible_to)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from guanxi.org.scopes import Scope


class ScopedQuerySet(models.QuerySet[Any]):
    """Every list, detail, search, export, count and API call starts here.

    The model declares `scope_filter(scope) -> Q`; the scope itself (which departments,
    which user, everything or nothing) is resolved once per user and action in
    guanxi.org.scopes.
    """

    def visible_to(self, actor: Any, action: str = "view") -> ScopedQuerySet:
        from guanxi.org.scopes import resolve_scope

        scope = resolve_scope(actor, action)
        if scope.everything:
            return self.all()
        if scope.nothing:
            return self.none()
        return self.filter(self.model.scope_filter(scope))


class ScopedModel(models.Model):
    class Meta:
        abstract = True

    @classmethod
    def scope_filter(cls, scope: Scope) -> Q:  # pragma: no cover - must be overridden
        raise NotImplementedError


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True, db_index=True)

    class Meta:
        abstract = True


class WorkdayOverride(models.Model):
    """A company's exception to the statutory calendar (internal holiday or extra workday)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'工作日' if self.is_workday else '休息日'}"
