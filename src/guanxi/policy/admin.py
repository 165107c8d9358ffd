"""Admin for the company policy pack: versions that override registry rules from an
effective date. Policy: every rule in policy.registry.REGISTRY (docs/policies.md).

- A new version is created through policy.services.policy_version_create (draft, audited).
- Each value is checked with policy.services.policy_value_check; its Chinese message is
  shown on the value field.
- "发布所选草稿" publishes through policy.services.policy_version_publish.
- Published versions are read-only: a change is a new version.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi import policy
from guanxi.core.admin import AuditedModelAdmin, adopt_saved
from guanxi.core.errors import DomainError, ValidationFailed
from guanxi.policy import registry
from guanxi.policy.models import PolicyValue, PolicyVersion
from guanxi.policy.services import (
    policy_value_check,
    policy_version_create,
    policy_version_publish,
    policy_version_update,
)

DRAFT = PolicyVersion.Status.DRAFT


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _rule_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [
        (key, f"{key} · {rule.label}") for key, rule in registry.REGISTRY.items()
    ]


def _in_force(rule: registry.Rule) -> str:
    value = policy.get(rule.key)
    return str(_("（同默认值）")) if value == rule.default else compact_json(value)


_WRAP = 'style="white-space: normal; word-break: break-all; min-width: 16em"'


def rule_reference_table() -> SafeString:
    """Every rule with its label, type, default, the value in force now and its help."""
    rows = format_html_join(
        "",
        '<tr><td><code>{}</code></td><td style="min-width: 8em">{}</td><td style="white-space: nowrap">{}</td>'
        f"<td {_WRAP}><code>{{}}</code></td>"
        '<td style="word-break: break-all; min-width: 6em; max-width: 16em"><code>{}</code></td>'
        '<td style="min-width: 14em">{}</td></tr>',
        (
            (
                rule.key,
                rule.label,
                registry.KIND_NAMES[rule.kind],
                compact_json(rule.default),
                _in_force(rule),
                rule.help,
            )
            for rule in registry.REGISTRY.values()
        ),
    )
    return format_html(
        '<table class="policy-rules"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
        "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("规则"),
        _("名称"),
        _("类型"),
        _("默认值"),
        _("当前生效值"),
        _("说明"),
        rows,
    )


# --- values -----------------------------------------------------------------------------------
class JSONTextarea(forms.Textarea):
    """JSON laid out readably; an empty row shows an empty box, not "null"."""

    def format_value(self, value: Any) -> str | None:
        if value in (None, "null"):
            return ""
        try:
            return json.dumps(json.loads(value), ensure_ascii=False, indent=2)
        except (TypeError, ValueError):
            shown: str | None = super().format_value(value)  # the user's invalid input, as typed
            return shown


class PolicyValueForm(forms.ModelForm[PolicyValue]):
    key = forms.ChoiceField(
        label=_("规则"),
        choices=_rule_choices,
        widget=forms.Select(attrs={"style": "max-width: 22em"}),
    )

    class Meta:
        model = PolicyValue
        fields = ("key", "value")
        widgets = {
            "value": JSONTextarea(attrs={"rows": 4, "cols": 40, "style": "font-family: monospace"})
        }
        help_texts = {"value": _('JSON 格式，例如 5、true、"0.90" 或 [{"code": …}]。')}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key = data.get("key")
        if key and "value" in data:
            try:
                policy_value_check(key=key, value=data["value"])
            except ValidationFailed as exc:
                for field, problems in exc.detail.items():
                    self.add_error("key" if field == "key" else "value", problems)
        return data


class PolicyValueFormSet(
    BaseInlineFormSet[PolicyValue, PolicyVersion, forms.ModelForm[PolicyValue]]
):
    def clean(self) -> None:
        # Before Django's own unique check, whose message names the column, not the rule.
        keys: list[str] = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("key"):
                continue
            keys.append(data["key"])
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        if duplicated:
            raise ValidationError(
                gettext("同一规则在一个版本中只能出现一次：%(keys)s")
                % {"keys": "、".join(duplicated)}
            )
        super().clean()
        if not keys:
            raise ValidationError(gettext("请至少设置一条规则的取值。"))


class PolicyValueInline(admin.TabularInline[PolicyValue, PolicyVersion]):
    model = PolicyValue
    form = PolicyValueForm
    formset = PolicyValueFormSet
    fields = ("key", "value", "rule_info")
    readonly_fields = ("rule_info",)
    extra = 0
    min_num = 1

    @admin.display(description=_("规则说明（默认值 / 当前生效值）"))
    def rule_info(self, obj: PolicyValue | None) -> str:
        rule = registry.REGISTRY.get(obj.key) if obj is not None and obj.key else None
        if rule is None:
            return "-"
        return format_html(
            "<strong>{}</strong><br>{}<br>{}<code>{}</code><br>{}<code>{}</code>",
            rule.label,
            rule.help,
            _("默认值："),
            compact_json(rule.default),
            _("当前生效值："),
            compact_json(policy.get(rule.key)),
        )

    # The values belong to their version: the version's permissions and status decide.
    def _editable(self, request: HttpRequest, obj: PolicyVersion | None) -> bool:
        if obj is None:
            return request.user.has_perm("policy.add_policyversion")
        return obj.status == DRAFT and request.user.has_perm("policy.change_policyversion")

    def has_add_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return self._editable(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        return request.user.has_perm("policy.view_policyversion") or self._editable(request, obj)


# --- versions ---------------------------------------------------------------------------------
class PolicyVersionForm(forms.ModelForm[PolicyVersion]):
    class Meta:
        model = PolicyVersion
        fields = ("note", "effective_from")
        help_texts = {
            "effective_from": _(
                "发布后，自此时间起按本版本执行；此前的业务仍按当时生效的版本解释。"
                "通常不应早于发布时间。"
            ),
        }


@admin.register(PolicyVersion)
class PolicyVersionAdmin(AuditedModelAdmin):
    audit_saves = False  # creation is audited by the service, draft edits below
    form = PolicyVersionForm
    inlines = [PolicyValueInline]
    list_display = (
        "number",
        "note",
        "status",
        "in_force",
        "effective_from",
        "overridden_keys",
        "created_by",
        "published_by",
        "published_at",
    )
    list_display_links = ("number", "note")
    list_filter = ("status",)
    search_fields = ("note", "values__key")
    ordering = ("-number",)
    actions = ["publish_selected"]
    readonly_fields = (
        "number",
        "status",
        "created_by",
        "created_at",
        "published_by",
        "published_at",
    )

    def audit_action(self, obj: Any, verb: str) -> str:
        return f"policy.version_{verb}"

    def get_fieldsets(self, request: HttpRequest, obj: PolicyVersion | None = None) -> Any:
        # The reference table spans the form's width as the fieldset's description.
        reference = (
            _("可配置的规则（只读参考）"),
            {"classes": ("collapse",), "fields": (), "description": rule_reference_table()},
        )
        if obj is None:
            return ((None, {"fields": ("note", "effective_from")}), reference)
        return (
            (None, {"fields": ("number", "status", "note", "effective_from")}),
            (
                _("创建与发布"),
                {"fields": ("created_by", "created_at", "published_by", "published_at")},
            ),
            reference,
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyVersion]:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by", "published_by")
            .prefetch_related("values")
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"effective_from": timezone.localtime().replace(second=0, microsecond=0)}

    def has_change_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        if obj is not None and obj.status != DRAFT:
            return False  # published versions are history: change by publishing a new one
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: PolicyVersion | None = None) -> bool:
        if obj is not None and obj.status != DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    # --- list columns ----------------------------------------------------------------------
    @admin.display(description=_("覆盖的规则"))
    def overridden_keys(self, obj: PolicyVersion) -> str:
        return "、".join(sorted(value.key for value in obj.values.all())) or "-"

    @admin.display(description=_("当前生效"), boolean=True)
    def in_force(self, obj: PolicyVersion) -> bool:
        return obj.number == policy.version_at()

    # --- saving ----------------------------------------------------------------------------
    @staticmethod
    def _submitted_values(formsets: list[Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for formset in formsets:
            for form in formset.forms:
                data = getattr(form, "cleaned_data", None)
                if data and not data.get("DELETE") and data.get("key"):
                    values[data["key"]] = data["value"]
        return values

    @staticmethod
    def _state(version: PolicyVersion) -> dict[str, Any]:
        return {
            "note": version.note,
            "effective_from": version.effective_from,
            **{value.key: value.value for value in version.values.all()},
        }

    def save_model(self, request: HttpRequest, obj: PolicyVersion, form: Any, change: bool) -> None:
        # Versions are written with their values in save_related, through the services.
        if change and not PolicyVersion.objects.filter(pk=obj.pk, status=DRAFT).exists():
            raise PermissionDenied(gettext("该版本已发布，不能修改。"))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        obj = form.instance
        values = self._submitted_values(formsets)
        if not change:
            version = policy_version_create(
                actor=request.user, note=obj.note, effective_from=obj.effective_from, values=values
            )
            adopt_saved(obj, version)
            return
        policy_version_update(
            actor=request.user,
            version_id=obj.pk,
            note=obj.note,
            effective_from=obj.effective_from,
            values=values,
        )

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        # The inline rows are written by the services, not by the formsets; the audit log
        # holds the field-level change.
        return [{"added": {}}] if add else [{"changed": {"fields": [str(_("规则取值"))]}}]

    # --- publishing ------------------------------------------------------------------------
    @admin.action(description=_("发布所选草稿"), permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[PolicyVersion]) -> None:
        published = []
        for version in queryset.order_by("number"):
            if version.status != DRAFT:
                self.message_user(
                    request,
                    gettext("v%(number)s 已发布，已跳过。") % {"number": version.number},
                    messages.WARNING,
                )
                continue
            try:
                policy_version_publish(actor=request.user, version_id=version.pk)
            except DomainError as exc:
                problems = "；".join(str(m) for msgs in exc.detail.values() for m in msgs)
                self.message_user(
                    request,
                    f"v{version.number}：{exc.message}{(' ' + problems) if problems else ''}",
                    messages.ERROR,
                )
                continue
            published.append(f"v{version.number}")
        if published:
            self.message_user(
                request,
                gettext("已发布：%(versions)s。") % {"versions": "、".join(published)},
                messages.SUCCESS,
            )
