"""Forms of the customer pages: widgets, labels and type parsing only.

Business validation and saving belong to customers.services; a form here never runs the
model's validation (`_post_clean` is a no-op) and is never saved. The view passes
`service_data()` to a service and puts the DomainError's messages back on the fields
(`show_domain_error`).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from guanxi.core.errors import DomainError, NotFound, PermissionDenied
from guanxi.core.forms import ModelChoiceField, formfield_for
from guanxi.customers.models import (
    Attachment,
    Contact,
    ContactRelation,
    Customer,
    Region,
    SecrecyLevel,
    SpecialDate,
    Tag,
)
from guanxi.customers.selectors import SORTS
from guanxi.customers.services import CONTACT_FIELDS, CUSTOMER_FIELDS
from guanxi.org.models import Department, User
from guanxi.org.selectors import departments_visible_to, users_visible_to
from guanxi.policy.selectors import choices as policy_choices

BLANK = [("", "---------")]
_TAG_SPLIT = re.compile(r"[,，、;；\s]+")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def show_domain_error(
    form: forms.Form, exc: DomainError, *, prefixes: dict[str, str] | None = None
) -> None:
    """Put a service's error on the form: `message` at the top, `detail[field]` next to
    each field. Not-found and permission errors become 404 and 403, never a 500."""
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    form.add_error(None, str(exc.message))
    for key, messages in exc.detail.items():
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            # Nested rows (e.g. `contacts`): the form shows the first one with a prefix.
            prefix = (prefixes or {}).get(key)
            for row in messages:
                for field, row_messages in row.items():
                    _add(form, f"{prefix}{field}" if prefix else "", row_messages)
            continue
        _add(form, key, messages)


def _add(form: forms.Form, field: str, messages: Any) -> None:
    messages = [str(m) for m in (messages if isinstance(messages, list | tuple) else [messages])]
    if field in form.fields:
        form.add_error(field, messages)
    else:
        for message in messages:
            if message not in form.non_field_errors():
                form.add_error(None, message)


def _formfield(field: Any, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return formfield_for(field, **kwargs)


class ServiceModelForm(forms.ModelForm):
    """A ModelForm for widgets and labels; the service validates and saves."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def _post_clean(self) -> None:
        # No model validation and no instance construction here: the service owns both.
        pass

    def save(self, commit: bool = True) -> Any:  # pragma: no cover - guard
        raise NotImplementedError("save through customers.services")


class MaskedPhonesMixin:
    """Phones outside the user's own customers are masked (compliance.mask_phones), in
    forms too: the field starts empty, shows the masked number as a hint, and leaving it
    empty keeps the stored number."""

    masked_fields: tuple[str, ...] = ()

    def mask(self, instance: Any) -> None:
        from guanxi.core.china import mask_phone

        self._masked = []
        for name in self.masked_fields:
            value = getattr(instance, name, "")
            if not value or name not in self.fields:
                continue
            self._masked.append(name)
            self.initial[name] = ""
            field = self.fields[name]
            field.widget.attrs["placeholder"] = mask_phone(value)
            field.help_text = _("号码已脱敏显示；如需修改请输入新号码，留空则保持不变。")

    def drop_unchanged_masked(self, data: dict[str, Any]) -> dict[str, Any]:
        for name in getattr(self, "_masked", []):
            if not data.get(name):
                data.pop(name, None)
        return data


class CustomerForm(MaskedPhonesMixin, ServiceModelForm):
    masked_fields = ("phone",)

    customer_type = forms.ChoiceField(label=_("客户类型"), required=False)
    tags = forms.CharField(
        label=_("标签"),
        required=False,
        max_length=300,
        help_text=_("多个标签用逗号或顿号分隔，例如：重点客户、华北"),
    )

    class Meta:
        model = Customer
        fields = [name for name in CUSTOMER_FIELDS if name != "credit_code_override_reason"] + [
            "credit_code_override_reason",
            "co_owners",
        ]
        widgets = {
            "business_scope": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "first_contact_on": DateInput(),
            "co_owners": forms.SelectMultiple(attrs={"size": 4}),
        }
        formfield_callback = _formfield

    def __init__(self, *args: Any, actor: User, mask_phones: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        instance = self.instance
        types = policy_choices("customers.types")
        if instance.customer_type and instance.customer_type not in dict(types):
            types.append((instance.customer_type, instance.customer_type))
        self.fields["customer_type"].choices = BLANK + types
        self.fields["customer_type"].initial = instance.customer_type
        owners, co_owners = users_visible_to(actor), users_visible_to(actor)
        departments = departments_visible_to(actor)
        if instance.pk:
            # Keep the record's current values selectable even when they lie outside the
            # editor's scope, so an unchanged form stays valid.
            owners = owners | User.objects.filter(owned_customers=instance)
            co_owners = co_owners | User.objects.filter(co_owned_customers=instance)
            departments = departments | Department.objects.filter(customers=instance)
        self.fields["owner"].queryset = owners.distinct()
        self.fields["co_owners"].queryset = co_owners.distinct()
        self.fields["department"].queryset = departments.distinct()
        self.fields["owner"].help_text = _("留空则为您本人。")
        self.fields["department"].help_text = _("留空则为负责人所在部门。")
        if not actor.has_perm("customers.override_credit_code"):
            del self.fields["credit_code_override_reason"]
        if instance.pk:
            self.initial["tags"] = "、".join(tag.name for tag in instance.tags.all())
        if mask_phones and instance.pk:
            self.mask(instance)

    SECTIONS: list[tuple[Any, list[str]]] = [
        (
            _("基本信息"),
            ["name", "credit_code", "credit_code_override_reason", "legal_representative",
             "registered_capital", "customer_type", "industry", "business_scope"],
        ),
        (_("联系方式"), ["address", "postcode", "phone", "fax", "email", "website"]),
        (
            _("归属与分类"),
            ["region", "department", "owner", "co_owners", "source_channel", "value_tier",
             "secrecy_level", "first_contact_on", "tags"],
        ),
        (_("首要联系人"), ["contact_name", "contact_title", "contact_mobile"]),
        (_("备注"), ["notes"]),
    ]  # fmt: skip

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """Fields grouped for the page, in order; fields this form lacks are skipped."""
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.SECTIONS
            if any(name in self.fields for name in names)
        ]

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k in CUSTOMER_FIELDS}
        return self.drop_unchanged_masked(data)

    def tag_names(self) -> list[str]:
        return [name for name in _TAG_SPLIT.split(self.cleaned_data.get("tags") or "") if name]

    def co_owner_list(self) -> list[User]:
        return list(self.cleaned_data.get("co_owners") or [])


class CustomerCreateForm(CustomerForm):
    """New customer, optionally with its first contact (联系人 is a ※ required field)."""

    contact_name = forms.CharField(label=_("联系人姓名"), required=False, max_length=50)
    contact_title = forms.CharField(label=_("联系人职务"), required=False, max_length=50)
    contact_mobile = forms.CharField(label=_("联系人手机"), required=False, max_length=20)

    CONTACT_PREFIX = "contact_"

    def first_contacts(self) -> list[dict[str, Any]] | None:
        contact = {
            name: self.cleaned_data.get(f"{self.CONTACT_PREFIX}{name}") or ""
            for name in ("name", "title", "mobile")
        }
        if not any(contact.values()):
            return None
        contact["is_primary"] = True
        return [contact]


class ContactForm(MaskedPhonesMixin, ServiceModelForm):
    masked_fields = ("mobile", "phone")

    class Meta:
        formfield_callback = formfield_for
        model = Contact
        fields = CONTACT_FIELDS
        widgets = {
            "birthday": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, mask_phones: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["mobile"].widget.attrs.setdefault("inputmode", "tel")
        if mask_phones and self.instance.pk:
            self.mask(self.instance)

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k in CONTACT_FIELDS}
        return self.drop_unchanged_masked(data)


class RelationForm(forms.Form):
    source = ModelChoiceField(queryset=Contact.objects.none(), label=_("联系人"))
    kind = forms.ChoiceField(choices=ContactRelation.Kind.choices, label=_("关系"))
    target = ModelChoiceField(queryset=Contact.objects.none(), label=_("关联联系人"))
    strength = forms.IntegerField(
        label=_("影响程度（1–5）"), initial=3, widget=forms.NumberInput(attrs={"min": 1, "max": 5})
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args: Any, contacts: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = contacts
        self.fields["target"].queryset = contacts


class SpecialDateForm(ServiceModelForm):
    class Meta:
        formfield_callback = formfield_for
        model = SpecialDate
        fields = ["kind", "date", "contact", "recurring", "remind_days_before", "note"]
        widgets = {"date": DateInput()}

    def __init__(self, *args: Any, contacts: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("remind_days_before") is None:
            data.pop("remind_days_before", None)
        return data


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("文件"), required=False)
    kind = forms.ChoiceField(choices=Attachment.Kind.choices, label=_("类型"))
    secrecy_level = forms.ChoiceField(choices=SecrecyLevel.choices, label=_("密级"))


class DeleteForm(forms.Form):
    reason = forms.CharField(label=_("删除原因"), required=False, max_length=200)


class CustomerFilterForm(forms.Form):
    """The list's GET parameters. Invalid values are ignored rather than refused."""

    SORT_CHOICES = [
        ("updated", _("最近更新")),
        ("-updated", _("最早更新")),
        ("name", _("名称 A→Z")),
        ("-name", _("名称 Z→A")),
        ("created", _("最近建档")),
        ("-created", _("最早建档")),
    ]

    q = forms.CharField(label=_("搜索"), required=False, max_length=100)
    type = forms.ChoiceField(label=_("客户类型"), required=False)
    region = ModelChoiceField(queryset=Region.objects.all(), label=_("区域"), required=False)
    owner = ModelChoiceField(queryset=User.objects.none(), label=_("负责人"), required=False)
    tag = ModelChoiceField(queryset=Tag.objects.all(), label=_("标签"), required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, label=_("排序"), required=False)

    def __init__(self, *args: Any, actor: User, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", _("全部类型")), *policy_choices("customers.types")]
        if self.data.get("owner"):
            # Only a chosen owner is validated against this queryset; the list's select is
            # built from the cached choices (customers.search.viewer), so a page without
            # an owner filter does not build the scoped user query.
            self.fields["owner"].queryset = users_visible_to(actor)
        self.fields["region"].empty_label = _("全部区域")
        self.fields["owner"].empty_label = _("全部负责人")
        self.fields["tag"].empty_label = _("全部标签")
        self.fields["q"].widget.attrs["placeholder"] = _("客户名称、信用代码、联系人或电话")

    def selector_kwargs(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        sort = data.get("sort") or "updated"
        return {
            "search": data.get("q") or "",
            "customer_type": data.get("type") or "",
            "region_id": data["region"].pk if data.get("region") else None,
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "tag_ids": [data["tag"].pk] if data.get("tag") else None,
            "sort": sort if sort in SORTS else "updated",
        }

    def summary(self) -> dict[str, Any]:
        """The filters in use, readable, for the export's audit row."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "q": data.get("q") or "",
            "type": data.get("type") or "",
            "region": str(data["region"]) if data.get("region") else "",
            "owner": str(data["owner"]) if data.get("owner") else "",
            "tag": str(data["tag"]) if data.get("tag") else "",
        }
