"""Presentation helpers shared by every page: phone masking, money, badges, form widgets
with Bootstrap classes, and readable audit rows (action names, field labels, old → new).

Nothing here decides anything: who may see a full number is decided by
customers.selectors.phones_visible, and the page passes that decision in.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms, template
from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from guanxi.core.china import mask_phone

register = template.Library()

NAV_MENU_SECONDS = 600


@register.simple_tag(takes_context=True)
def nav_menu(context: Any) -> str:
    """The layout's menu (includes/nav_menu.html): which entries a user sees depends on
    their permissions and roles only, so a page that read the org version token this
    request (the customer list: customers.search.viewer) reuses the menu rendered for
    the same user, token, staff flag, language and section; any change to users, roles or
    permissions replaces the token. Other pages render it each time."""
    request = context.get("request")
    user = context.get("user")
    menu = context.template.engine.get_template("includes/nav_menu.html")
    tokens = getattr(request, "list_cache", (None,))[0] if request is not None else None
    if not tokens or "org" not in tokens or user is None or not user.is_authenticated:
        return mark_safe(str(menu.render(context)))  # noqa: S308 - rendered by the engine
    match = request.resolver_match
    key = ":".join(
        str(part)
        for part in (
            "gx-nav", connection.alias, user.pk, tokens["org"], user.is_staff,
            user.is_superuser, get_language(), match.url_name if match else "",
            request.path.split("/", 2)[1],
        )
    )  # fmt: skip
    html = cache.get(key)
    if not isinstance(html, str):
        html = str(menu.render(context))
        cache.set(key, html, NAV_MENU_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine (autoescaped)


# Chinese names of the audit actions; the audit search offers them as choices.
ACTION_LABELS: dict[str, Any] = {
    "import.uploaded": _("上传导入文件"),
    "import.committed": _("导入客户"),
    "import.files_deleted": _("删除过期导入文件"),
    "import.refused": _("导入被拒绝（有错误）"),
    "customer.created": _("新建客户档案"),
    "customer.updated": _("修改客户档案"),
    "customer.deleted": _("删除客户档案（移入回收站）"),
    "customer.restored": _("从回收站恢复客户档案"),
    "customer.viewed": _("查看客户档案"),
    "customer.exported": _("导出客户数据"),
    "customer.merged": _("合并客户档案（保留）"),
    "customer.merged_away": _("客户档案被合并"),
    "customer.merge_reversed": _("撤销客户合并"),
    "customer.unmerged": _("撤销合并，客户档案恢复"),
    "duplicate.dismissed": _("标记为不是重复客户"),
    "contact.created": _("新增联系人"),
    "contact.updated": _("修改联系人"),
    "contact.deleted": _("删除联系人"),
    "contact_relation.created": _("新增联系人关系"),
    "contact_relation.deleted": _("删除联系人关系"),
    "special_date.created": _("新增特殊日期"),
    "special_date.deleted": _("删除特殊日期"),
    "attachment.added": _("上传附件"),
    "attachment.deleted": _("删除附件"),
    "attachment.downloaded": _("下载附件"),
    "department.created": _("新建部门"),
    "department.updated": _("修改部门"),
    "user.created": _("新建用户"),
    "user.updated": _("修改用户"),
    "user.password_changed": _("修改密码"),
    "policy.version_created": _("新建策略版本"),
    "policy.version_updated": _("修改策略版本"),
    "policy.version_published": _("发布策略版本"),
}

# Keys of `changes` that are not model fields.
EXTRA_LABELS: dict[str, Any] = {
    "relation": _("联系人关系"),
    "special_date": _("特殊日期"),
    "attachment": _("附件"),
    "count": _("导出行数"),
    "filters": _("筛选条件"),
    "merged_from": _("被合并客户"),
    "moved": _("转入的记录"),
    "roles": _("角色"),
    "password": _("密码"),
}

_SECRECY_CLASSES = {
    "normal": "text-bg-light border",
    "confidential": "text-bg-warning",
    "top_secret": "text-bg-danger",
}


@register.filter
def phone(value: str, visible: bool) -> str:
    """{{ contact.mobile|phone:phones_visible }} → the number, or 138****1234."""
    if not value:
        return ""
    return value if visible else mask_phone(value)


@register.filter
def masked_phone(value: str) -> str:
    return mask_phone(value) if value else ""


@register.filter
def yuan(value: Any) -> str:
    """¥1,234.50 — amounts are always shown in RMB with two decimals."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"¥{amount:,.2f}"


@register.simple_tag
def secrecy_badge(obj: Any) -> str:
    """A badge for the secrecy level (普通 / 机密 / 绝密) of a customer or attachment."""
    css = _SECRECY_CLASSES.get(obj.secrecy_level, "text-bg-secondary")
    icon = "bi-unlock" if obj.secrecy_level == "normal" else "bi-lock-fill"
    return format_html(
        '<span class="badge {}"><i class="bi {} me-1"></i>{}</span>',
        css,
        icon,
        obj.get_secrecy_level_display(),
    )


@register.filter
def score_colour(score: int) -> str:
    """Bootstrap colour of a completeness score."""
    if score >= 100:
        return "success"
    if score >= 80:
        return "info"
    if score >= 50:
        return "warning"
    return "danger"


@register.filter
def bs(bound_field: forms.BoundField) -> str:
    """Render a form widget with Bootstrap classes, marked invalid when it has errors."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select | forms.SelectMultiple) and not isinstance(
        widget, forms.CheckboxSelectMultiple | forms.RadioSelect
    ):
        css = "form-select"
    elif isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        css = ""
    else:
        css = "form-control"
    existing = widget.attrs.get("class", "")
    classes = " ".join(part for part in (existing, css) if part)
    if bound_field.errors:
        classes += " is-invalid"
    return bound_field.as_widget(attrs={"class": classes})


@register.filter
def is_checkbox(bound_field: forms.BoundField) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.filter
def audit_action(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def field_label(object_type: str, name: str) -> str:
    """Verbose name of a changed field, in the language of the page."""
    if name in EXTRA_LABELS:
        return str(EXTRA_LABELS[name])
    try:
        field = apps.get_model(object_type)._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return name
    if hasattr(field, "verbose_name"):
        return str(field.verbose_name)
    # A reverse relation (e.g. "contacts"): name it after the related model.
    return str(field.related_model._meta.verbose_name_plural)


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return str(_("是"))
    if value is False:
        return str(_("否"))
    if isinstance(value, list):
        return "、".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "，".join(f"{key}={_text(item)}" for key, item in value.items())
    return str(value)


@register.filter
def audit_changes(event: Any) -> list[tuple[str, str, str]]:
    """(field label, old, new) rows of an audit event's {field: [old, new]}."""
    rows = []
    for name, pair in (event.changes or {}).items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            old, new = pair
        else:
            old, new = None, pair
        rows.append((field_label(event.object_type, name), _text(old), _text(new)))
    return rows


@register.filter
def elided_range(page: Any) -> Any:
    """Page numbers around the current page, with … for the gaps."""
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


@register.filter
def colour(value: str) -> str:
    """A tag colour for a style attribute: only #rgb/#rrggbb, anything else is grey."""
    return value if value and _HEX_COLOUR.match(value) else "#6c757d"
