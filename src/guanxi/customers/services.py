"""Every write to the customer archive. Policy: customers.*; see docs/policies.md.

Each service validates with the model's own field rules (full_clean) plus the business
rules below, locks what it changes, writes the audit row (which is the customer's
history) in the same transaction, and re-checks that the actor can still see the record.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.core.china import credit_code_problem, normalise_credit_code, normalise_mobile
from guanxi.core.cleaning import full_clean_fast
from guanxi.core.errors import (
    DuplicateCreditCode,
    NotFound,
    PermissionDenied,
    PossibleDuplicate,
    ValidationFailed,
)
from guanxi.core.ids import parse_id
from guanxi.core.rows import new_instance
from guanxi.customers.dedup.matching import duplicate_candidates
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.models import (
    Attachment,
    Contact,
    ContactRelation,
    Customer,
    Industry,
    Region,
    SecrecyLevel,
    SpecialDate,
    Tag,
)
from guanxi.org.models import Department, User
from guanxi.org.scopes import CHANGE
from guanxi.policy.selectors import choices as policy_choices

CUSTOMER_FIELDS = [
    "name",
    "credit_code",
    "credit_code_override_reason",
    "legal_representative",
    "registered_capital",
    "business_scope",
    "address",
    "postcode",
    "phone",
    "fax",
    "email",
    "website",
    "industry",
    "customer_type",
    "region",
    "department",
    "source_channel",
    "owner",
    "value_tier",
    "secrecy_level",
    "first_contact_on",
    "notes",
]
CONTACT_FIELDS = [
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "birthday",
    "hobbies",
    "notes",
    "deal_role",
    "is_primary",
]
_FK_MODELS = {"industry": Industry, "region": Region, "department": Department, "owner": User}


# --- helpers ---------------------------------------------------------------------------------
def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied()


def _locked_customer(actor: Any, customer_id: int, *, deleted: bool = False) -> Customer:
    rows = Customer.objects.visible_to(actor, CHANGE).select_for_update()
    rows = rows.filter(deleted_at__isnull=not deleted)
    customer = rows.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    return customer


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for m in ValidationError(msgs).messages]
            for field, msgs in exc.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


_CHOICE_FIELDS = {"source_channel", "value_tier", "secrecy_level"}


@functools.cache
def _choice_labels(name: str, language: str | None) -> dict[str, str]:
    """code → label of a choice field, as get_<field>_display gives it, in `language`
    (get_FOO_display hashes the lazy labels on every call: slow in a batch); worked out
    once per language, in that language."""
    with translation.override(language):
        return {code: str(label) for code, label in Customer._meta.get_field(name).flatchoices}


def customer_types() -> dict[str, str]:
    """code → label of the customer types the policy allows (customers.types)."""
    return dict(policy_choices("customers.types"))


_FOREIGN, _TYPE, _CHOICE, _VALUE = range(4)
_SNAPSHOT_PLAN = [
    (
        name,
        f"{name}_id" if name in _FK_MODELS else name,
        _FOREIGN
        if name in _FK_MODELS
        else _TYPE
        if name == "customer_type"
        else _CHOICE
        if name in _CHOICE_FIELDS
        else _VALUE,
    )
    for name in CUSTOMER_FIELDS
]


_ACTIVE = object()


def _snapshot(
    customer: Customer, types: dict[str, str] | None = None, language: Any = _ACTIVE
) -> dict[str, Any]:
    """Human-readable values of the tracked fields, for history. `types`: customer_types(),
    `language`: get_language(), when the caller (a batch) already has them (reading the
    active language costs more than the rest of a snapshot)."""
    values: dict[str, Any] = {}
    if language is _ACTIVE:
        language = get_language()
    data = customer.__dict__
    for name, attname, kind in _SNAPSHOT_PLAN:
        value = data[attname] if attname in data else getattr(customer, attname)
        if kind == _VALUE:
            values[name] = None if value == "" else value
        elif kind == _FOREIGN:
            values[name] = str(getattr(customer, name)) if value is not None else None
        elif kind == _CHOICE:
            values[name] = _choice_labels(name, language).get(value, value) or None
        else:
            if types is None:
                types = customer_types()
            values[name] = types.get(value, value) or None
    return values


def _m2m_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "tags": sorted(t.name for t in customer.tags.all()),
        "co_owners": sorted(u.display_name for u in customer.co_owners.all()),
    }


def _resolve_foreign_keys(data: dict[str, Any]) -> dict[str, list[str]]:
    """Accept ids or instances for FK fields; unknown ids are field errors."""
    errors: dict[str, list[str]] = {}
    for name, model in _FK_MODELS.items():
        if name not in data:
            continue
        value = data[name]
        if value in (None, ""):
            data[name] = None
        elif not isinstance(value, model):
            found = model.objects.filter(pk=parse_id(value)).first() if parse_id(value) else None
            if found is not None:
                data[name] = found
            else:
                errors[name] = [
                    _("所选的%(field)s不存在。")
                    % {"field": Customer._meta.get_field(name).verbose_name}
                ]
    return errors


_NULLABLE = {*_FK_MODELS, "registered_capital", "first_contact_on"}


def _clean_input(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Keep archive fields only, resolve foreign keys, turn None into "" for text fields.
    Keys whose foreign key could not be resolved are dropped and reported as errors."""
    data = {k: v for k, v in data.items() if k in CUSTOMER_FIELDS}
    errors = _resolve_foreign_keys(data)
    cleaned = {
        key: ("" if value is None and key not in _NULLABLE else value)
        for key, value in data.items()
        if key not in errors
    }
    return cleaned, errors


def customer_problems(
    actor: Any,
    customer: Customer,
    *,
    types: dict[str, str] | None = None,
    foreign_keys: bool = True,
) -> dict[str, list[str]]:
    """Every field and business rule of one unsaved customer state that needs no other
    record: the model's field rules (full_clean: required fields, lengths, e-mail, URL,
    postcode …), customer type in policy (customers.types), the credit code's check
    character (python-stdnum) and who may keep a failing one. Normalises name, key and
    code in place. Shared by customer_create/customer_update and the batch path
    (customers.batch); the credit-code clash, which reads the archive, is each path's own
    query. `foreign_keys=False` skips full_clean's per-row existence query of the foreign
    keys, for callers whose related records were just loaded from the database."""
    errors: dict[str, list[str]] = {}
    customer.name = (customer.name or "").strip()
    customer.name_normalised = normalise_name(customer.name)
    customer.credit_code = normalise_credit_code(customer.credit_code)
    customer.credit_code_override_reason = (customer.credit_code_override_reason or "").strip()
    exclude = ["created_by", "co_owners", "tags"]
    if not foreign_keys:
        exclude += [name for name in _FK_MODELS if getattr(customer, f"{name}_id") is not None]
    try:
        full_clean_fast(
            customer, exclude=exclude, validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        errors.update(_errors_of(exc))
    if types is None:
        types = customer_types()
    if customer.customer_type and customer.customer_type not in types:
        errors.setdefault("customer_type", []).append(_("客户类型不在公司策略允许的范围内。"))
    if customer.credit_code and "credit_code" not in errors:
        problem = credit_code_problem(customer.credit_code)
        if problem is None:
            customer.credit_code_override_reason = ""
        elif not customer.credit_code_override_reason:
            errors["credit_code"] = [problem]
        elif not actor.has_perm("customers.override_credit_code"):
            errors["credit_code"] = [problem + _("（只有档案管理员可以保留未通过校验的代码。）")]
    elif not customer.credit_code:
        customer.credit_code_override_reason = ""
    return errors


def duplicate_credit_code() -> DuplicateCreditCode:
    return DuplicateCreditCode(detail={"credit_code": [str(DuplicateCreditCode.default_message)]})


def _check_clash(customer: Customer) -> None:
    """Another live customer with the same credit code: DuplicateCreditCode."""
    if customer.credit_code:
        clash = (
            Customer.objects.alive()
            .filter(credit_code=customer.credit_code)
            .exclude(pk=customer.pk)
        )
        if clash.exists():
            raise duplicate_credit_code()


def _check_customer(actor: Any, customer: Customer) -> None:
    """All business validation of an unsaved customer state; raises ValidationFailed."""
    errors = customer_problems(actor, customer)
    if errors:
        raise ValidationFailed(detail=errors)
    _check_clash(customer)


def contact_problems(contact: Contact) -> dict[str, list[str]]:
    """The field rules of one unsaved contact (name, mobile, e-mail …); normalises the
    mobile in place. Shared with the batch path."""
    contact.name = (contact.name or "").strip()
    if contact.mobile:
        contact.mobile = normalise_mobile(contact.mobile)
    try:
        full_clean_fast(
            contact, exclude=["customer"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        return _errors_of(exc)
    return {}


def _save_customer(customer: Customer) -> None:
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # Two writers racing for the same credit code: the unique constraint decides.
        if (
            customer.credit_code
            and Customer.objects.alive()
            .filter(credit_code=customer.credit_code)
            .exclude(pk=customer.pk)
            .exists()
        ):
            raise DuplicateCreditCode(
                detail={"credit_code": [str(DuplicateCreditCode.default_message)]}
            ) from exc
        raise


def out_of_scope() -> ValidationFailed:
    return ValidationFailed(
        _("保存后该客户将超出您的数据范围，请检查负责人和分支机构。"),
        detail={"owner": [_("负责人或分支机构超出您的数据范围。")]},
    )


def _ensure_still_visible(actor: Any, customer: Customer) -> None:
    """A write must not move a record out of the actor's own scope."""
    if not Customer.objects.visible_to(actor, CHANGE).filter(pk=customer.pk).exists():
        raise out_of_scope()


def _apply_m2m(
    actor: Any, customer: Customer, tags: list[Any] | None, co_owners: list[Any] | None
) -> None:
    if tags is not None:
        tag_objs = [
            t if isinstance(t, Tag) else Tag.objects.get_or_create(name=str(t).strip())[0]
            for t in tags
            if str(t).strip()
        ]
        customer.tags.set(tag_objs)
    if co_owners is not None:
        users = [
            u
            if isinstance(u, User)
            else User.objects.filter(pk=parse_id(u)).first()
            if parse_id(u)
            else None
            for u in co_owners
        ]
        if any(u is None for u in users):
            raise ValidationFailed(detail={"co_owners": [_("所选的协作负责人不存在。")]})
        customer.co_owners.set([u for u in users if u.pk != customer.owner_id])


# new_customer's result: the unsaved customer, its contacts, the errors, fields valid.
NewCustomerParts = tuple[Customer, list[Contact], dict[str, Any], bool]


def new_customer(
    actor: Any,
    data: dict[str, Any],
    contacts: list[dict[str, Any]] | None,
    *,
    types: dict[str, str] | None = None,
    foreign_keys: bool = True,
) -> NewCustomerParts:
    """An unsaved new customer and its contacts from service input, checked by every rule
    that needs no other record (customer_problems, contact_problems) and with the defaults
    of a new record: the owner is the actor unless given, the branch the owner's
    department. Returns the errors as ValidationFailed.detail (empty: valid) and whether
    the customer's own fields passed (then a credit-code clash is reported first)."""
    data, errors = _clean_input(data)
    if data.get("owner") is None:
        data["owner"] = actor
    if not data.get("department"):
        data["department"] = data["owner"].department
    customer = new_instance(Customer, {"created_by": actor, **data})
    if customer.department_id is None and "department" not in errors:
        errors["department"] = [_("请选择分支机构（负责人未设置部门）。")]
    contact_objs = [
        new_instance(Contact, {k: v for k, v in c.items() if k in CONTACT_FIELDS})
        for c in contacts or []
    ]
    contact_errors = [contact_problems(c) for c in contact_objs]
    problems = customer_problems(actor, customer, types=types, foreign_keys=foreign_keys)
    errors = {**problems, **errors}
    if any(contact_errors):
        errors["contacts"] = contact_errors
    return customer, contact_objs, errors, not problems


def created_changes(
    customer: Customer,
    m2m: dict[str, Any],
    *,
    types: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    language: Any = _ACTIVE,
) -> dict[str, list[Any]]:
    """The changes of a customer.created history row: every field with a value.
    `extra`: more fields set on creation by the caller (e.g. the importer's 合作状态);
    `types`, `language`: see _snapshot."""
    snapshot = _snapshot(customer, types, language)
    changes = {k: [None, v] for k, v in snapshot.items() if v is not None}
    changes.update({k: [None, v] for k, v in m2m.items() if v})
    changes.update({k: [None, v] for k, v in (extra or {}).items() if v})
    return changes


# --- customers -------------------------------------------------------------------------------
@transaction.atomic
def customer_create(
    *,
    actor: Any,
    data: dict[str, Any],
    contacts: list[dict[str, Any]] | None = None,
    tags: list[Any] | None = None,
    co_owners: list[Any] | None = None,
    confirm_duplicate: bool = False,
) -> Customer:
    """File a new customer (建档). The owner defaults to the actor and the branch to the
    owner's department; the actor must be able to see the result.

    A name whose normalised key matches (or nearly matches) a live customer's, when no
    credit code tells them apart, is refused with PossibleDuplicate unless the user
    confirmed it (`confirm_duplicate`); see customers.dedup.matching."""
    _require(actor, "customers.add_customer")
    customer, contact_objs, errors, fields_valid = new_customer(actor, data, contacts)
    if fields_valid:
        _check_clash(customer)
    if errors:
        raise ValidationFailed(detail=errors)
    if not confirm_duplicate and (
        candidates := duplicate_candidates(
            key=customer.name_normalised, credit_code=customer.credit_code
        )
    ):
        raise PossibleDuplicate(detail={"candidates": candidates})
    _save_customer(customer)
    for contact in contact_objs:
        contact.customer = customer
        contact.save()
    _apply_m2m(actor, customer, tags, co_owners)
    _ensure_still_visible(actor, customer)
    changes = created_changes(customer, _m2m_snapshot(customer))
    audit.record(actor=actor, action="customer.created", obj=customer, changes=changes)
    for contact in contact_objs:
        audit.record(
            actor=actor,
            action="contact.created",
            obj=contact,
            changes={"name": [None, contact.name]},
        )
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: Any,
    customer_id: int,
    data: dict[str, Any],
    contacts: list[dict[str, Any]] | None = None,
    tags: list[Any] | None = None,
    co_owners: list[Any] | None = None,
) -> Customer:
    """Change archive fields. `contacts`, when given, is the full list: items with an id
    are updated, items without are added, missing ones are removed (soft)."""
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, customer_id)
    before = {**_snapshot(customer), **_m2m_snapshot(customer)}
    data, errors = _clean_input(data)
    for key, value in data.items():
        setattr(customer, key, value)
    if customer.owner_id is None:
        errors.setdefault("owner", [_("请选择负责人。")])
    if customer.department_id is None:
        errors.setdefault("department", [_("请选择分支机构。")])
    try:
        _check_customer(actor, customer)
    except ValidationFailed as exc:
        errors = {**exc.detail, **errors}
    contact_plan: list[tuple[Contact, bool]] = []
    if contacts is not None:
        existing = {c.pk: c for c in customer.contacts.filter(deleted_at__isnull=True)}
        contact_errors = []
        for item in contacts:
            contact_id = item.get("id")
            if contact_id is not None:
                contact = existing.get(contact_id)
                if contact is None:
                    contact_errors.append({"id": [_("该联系人不属于此客户。")]})
                    continue
            else:
                contact = Contact(customer=customer)
            for key, value in item.items():
                if key in CONTACT_FIELDS:
                    setattr(
                        contact, key, "" if value is None and key not in {"birthday"} else value
                    )
            contact_errors.append(contact_problems(contact))
            contact_plan.append((contact, contact_id is None))
        if any(contact_errors):
            errors["contacts"] = contact_errors
    if errors:
        raise ValidationFailed(detail=errors)
    _save_customer(customer)
    _apply_m2m(actor, customer, tags, co_owners)
    if contacts is not None:
        kept = {c.pk for c, is_new in contact_plan if not is_new}
        for contact, is_new in contact_plan:
            _contact_save(actor, contact, created=is_new)
        for contact in customer.contacts.filter(deleted_at__isnull=True).exclude(pk__in=kept):
            if contact.pk not in {c.pk for c, _new in contact_plan}:
                _contact_soft_delete(actor, contact)
    _ensure_still_visible(actor, customer)
    changes = audit.diff(before, {**_snapshot(customer), **_m2m_snapshot(customer)})
    if changes:
        audit.record(actor=actor, action="customer.updated", obj=customer, changes=changes)
    return customer


@transaction.atomic
def customer_delete(*, actor: Any, customer_id: int, reason: str = "") -> Customer:
    """Soft delete into the recycle bin (customers.recycle_bin_days)."""
    _require(actor, "customers.delete_customer")
    customer = _locked_customer(actor, customer_id)
    customer.deleted_at = timezone.now()
    customer.deleted_by = actor
    customer.save(update_fields=["deleted_at", "deleted_by"])
    audit.record(actor=actor, action="customer.deleted", obj=customer, note=reason)
    return customer


@transaction.atomic
def customer_restore(*, actor: Any, customer_id: int) -> Customer:
    """Bring a customer back from the recycle bin while its retention period lasts."""
    _require(actor, "customers.restore_customer")
    customer = _locked_customer(actor, customer_id, deleted=True)
    if customer.merged_into_id is not None:
        raise ValidationFailed(_("该客户已合并到其他客户，不能直接恢复。"))
    keep_days = policy.get("customers.recycle_bin_days")
    if customer.deleted_at < timezone.now() - dt.timedelta(days=keep_days):
        raise ValidationFailed(
            _("已超过回收站保留期（%(days)s天），不能恢复。") % {"days": keep_days}
        )
    if (
        customer.credit_code
        and Customer.objects.alive().filter(credit_code=customer.credit_code).exists()
    ):
        raise DuplicateCreditCode(_("已有其他客户使用相同的统一社会信用代码，不能恢复。"))
    customer.deleted_at = None
    customer.deleted_by = None
    customer.save(update_fields=["deleted_at", "deleted_by"])
    audit.record(actor=actor, action="customer.restored", obj=customer)
    return customer


# --- contacts and the relationship circle --------------------------------------------------
def _contact_save(actor: Any, contact: Contact, *, created: bool) -> None:
    if created:
        contact.save()
        audit.record(
            actor=actor,
            action="contact.created",
            obj=contact,
            changes={"name": [None, contact.name]},
        )
        return
    old = Contact.objects.get(pk=contact.pk)
    changes = audit.diff(
        {k: getattr(old, k) for k in CONTACT_FIELDS},
        {k: getattr(contact, k) for k in CONTACT_FIELDS},
    )
    if changes:
        contact.save()
        audit.record(actor=actor, action="contact.updated", obj=contact, changes=changes)


def _contact_soft_delete(actor: Any, contact: Contact) -> None:
    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at"])
    audit.record(
        actor=actor, action="contact.deleted", obj=contact, changes={"name": [contact.name, None]}
    )


@transaction.atomic
def contact_create(*, actor: Any, customer_id: int, data: dict[str, Any]) -> Contact:
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, customer_id)
    contact = Contact(customer=customer, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    errors = contact_problems(contact)
    if errors:
        raise ValidationFailed(detail=errors)
    _contact_save(actor, contact, created=True)
    customer.save(update_fields=["updated_at"])
    return contact


def _locked_contact(actor: Any, contact_id: int) -> Contact:
    contact = (
        Contact.objects.visible_to(actor, CHANGE)
        .alive()
        .select_for_update()
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise NotFound()
    return contact


@transaction.atomic
def contact_update(*, actor: Any, contact_id: int, data: dict[str, Any]) -> Contact:
    _require(actor, "customers.change_customer")
    contact = _locked_contact(actor, contact_id)
    for key, value in data.items():
        if key in CONTACT_FIELDS:
            setattr(contact, key, "" if value is None and key != "birthday" else value)
    errors = contact_problems(contact)
    if errors:
        raise ValidationFailed(detail=errors)
    _contact_save(actor, contact, created=False)
    contact.customer.save(update_fields=["updated_at"])
    return contact


@transaction.atomic
def contact_delete(*, actor: Any, contact_id: int) -> Contact:
    _require(actor, "customers.change_customer")
    contact = _locked_contact(actor, contact_id)
    _contact_soft_delete(actor, contact)
    return contact


@transaction.atomic
def contact_relation_create(
    *,
    actor: Any,
    source_id: int,
    target_id: int,
    kind: str = ContactRelation.Kind.INFLUENCES,
    strength: int = 3,
    note: str = "",
) -> ContactRelation:
    """Record that one contact influences (reports to, …) another of the same customer."""
    _require(actor, "customers.change_customer")
    source = _locked_contact(actor, source_id)
    target = Contact.objects.alive().filter(pk=target_id, customer_id=source.customer_id).first()
    errors: dict[str, list[str]] = {}
    if target is None:
        errors["target"] = [_("请选择同一客户的另一位联系人。")]
    elif target.pk == source.pk:
        errors["target"] = [_("不能与自己建立关系。")]
    if kind not in ContactRelation.Kind.values:
        errors["kind"] = [_("关系类型无效。")]
    if not 1 <= int(strength) <= 5:
        errors["strength"] = [_("影响程度应为1到5。")]
    if (
        not errors
        and ContactRelation.objects.filter(source=source, target=target, kind=kind).exists()
    ):
        errors["target"] = [_("这条关系已经存在。")]
    if errors:
        raise ValidationFailed(detail=errors)
    relation = ContactRelation.objects.create(
        customer_id=source.customer_id,
        source=source,
        target=target,
        kind=kind,
        strength=strength,
        note=note,
    )
    audit.record(
        actor=actor,
        action="contact_relation.created",
        obj=relation,
        changes={"relation": [None, f"{source.name} {relation.get_kind_display()} {target.name}"]},
    )
    return relation


@transaction.atomic
def contact_relation_delete(*, actor: Any, relation_id: int) -> None:
    _require(actor, "customers.change_customer")
    relation = (
        ContactRelation.objects.visible_to(actor, CHANGE)
        .select_related("source", "target")
        .filter(pk=relation_id)
        .first()
    )
    if relation is None:
        raise NotFound()
    audit.record(
        actor=actor,
        action="contact_relation.deleted",
        obj=relation,
        changes={
            "relation": [
                f"{relation.source.name} {relation.get_kind_display()} {relation.target.name}",
                None,
            ]
        },
    )
    relation.delete()


# --- special dates ----------------------------------------------------------------------------
@transaction.atomic
def special_date_create(*, actor: Any, customer_id: int, data: dict[str, Any]) -> SpecialDate:
    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, customer_id)
    contact_id = data.get("contact")
    contact = None
    if contact_id:
        contact = customer.contacts.alive().filter(pk=getattr(contact_id, "pk", contact_id)).first()
        if contact is None:
            raise ValidationFailed(detail={"contact": [_("请选择该客户的联系人。")]})
    item = SpecialDate(
        customer=customer,
        contact=contact,
        **{
            k: v
            for k, v in data.items()
            if k in {"kind", "date", "recurring", "remind_days_before", "note"}
        },
    )
    try:
        item.full_clean(exclude=["customer", "contact"])
    except ValidationError as exc:
        raise ValidationFailed(detail=_errors_of(exc)) from None
    item.save()
    audit.record(
        actor=actor,
        action="special_date.created",
        obj=item,
        changes={"special_date": [None, str(item)]},
    )
    return item


@transaction.atomic
def special_date_delete(*, actor: Any, special_date_id: int) -> None:
    _require(actor, "customers.change_customer")
    item = SpecialDate.objects.visible_to(actor, CHANGE).filter(pk=special_date_id).first()
    if item is None:
        raise NotFound()
    audit.record(
        actor=actor,
        action="special_date.deleted",
        obj=item,
        changes={"special_date": [str(item), None]},
    )
    item.delete()


# --- attachments -----------------------------------------------------------------------------
@transaction.atomic
def attachment_add(
    *,
    actor: Any,
    customer_id: int,
    file: UploadedFile,
    kind: str = Attachment.Kind.OTHER,
    secrecy_level: str = "normal",
) -> Attachment:
    """Store a document through Django's storage API, with a secrecy level."""
    from django.conf import settings

    _require(actor, "customers.change_customer")
    customer = _locked_customer(actor, customer_id)
    errors: dict[str, list[str]] = {}
    if file is None:
        errors["file"] = [_("请选择要上传的文件。")]
    elif file.size > settings.GUANXI_ATTACHMENT_MAX_BYTES:
        errors["file"] = [
            _("文件过大，最大 %(mb)s MB。")
            % {"mb": settings.GUANXI_ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        ]
    if kind not in Attachment.Kind.values:
        errors["kind"] = [_("附件类型无效。")]
    if secrecy_level not in dict(Attachment._meta.get_field("secrecy_level").choices):
        errors["secrecy_level"] = [_("密级无效。")]
    if errors:
        raise ValidationFailed(detail=errors)
    name = file.name.rsplit("/", 1)[-1][:200]
    attachment = Attachment(
        customer=customer,
        name=name,
        kind=kind,
        secrecy_level=secrecy_level,
        size=file.size,
        uploaded_by=actor,
    )
    attachment.file.save(name, file, save=False)
    # If the transaction rolls back, do not leave an orphan file behind.
    stored_name = attachment.file.name
    storage = attachment.file.storage
    try:
        attachment.save()
    except Exception:
        storage.delete(stored_name)
        raise
    audit.record(
        actor=actor,
        action="attachment.added",
        obj=attachment,
        changes={"attachment": [None, attachment.name]},
    )
    return attachment


@transaction.atomic
def attachment_delete(*, actor: Any, attachment_id: int) -> None:
    _require(actor, "customers.change_customer")
    attachment = (
        Attachment.objects.visible_to(actor, CHANGE).alive().filter(pk=attachment_id).first()
    )
    if attachment is None:
        raise NotFound()
    attachment.deleted_at = timezone.now()
    attachment.save(update_fields=["deleted_at"])
    audit.record(
        actor=actor,
        action="attachment.deleted",
        obj=attachment,
        changes={"attachment": [attachment.name, None]},
    )


def attachment_download_record(*, actor: Any, attachment: Attachment) -> None:
    """Downloads of documents are audited (the view fetched it through scope).

    绝密 (top-secret) documents open only for the customer's owner and co-owners and for
    roles holding customers.view_top_secret (general manager, archive keeper); MISSION §9."""
    if attachment.secrecy_level == SecrecyLevel.TOP_SECRET and not actor.has_perm(
        "customers.view_top_secret"
    ):
        customer = attachment.customer
        if customer.owner_id != actor.pk and not customer.co_owners.filter(pk=actor.pk).exists():
            audit.record(actor=actor, action="attachment.download_refused", obj=attachment)
            raise PermissionDenied(_("该附件为绝密文件，只有负责人或经总经理授权的人员可以查阅。"))
    audit.record(actor=actor, action="attachment.downloaded", obj=attachment)


# --- audited reads (STYLE §7: views and exports of personal data are audited) ---------------
def customer_view_record(*, actor: Any, customer: Customer) -> None:
    """Each opening of a customer's 360 page is audited. The page fetched the customer
    through scope (customer_get); the event is not part of the customer's history."""
    audit.record(actor=actor, action="customer.viewed", obj=customer)


@transaction.atomic
def customer_export_record(*, actor: Any, count: int, filters: dict[str, Any]) -> None:
    """Exports are limited and traceable. Policy: customers.export_max_rows (per role).

    Refuses (rather than truncates) an export larger than the actor's limit."""
    from guanxi.customers.selectors import export_limit

    _require(actor, "customers.export_customer")
    limit = export_limit(actor=actor)
    if count > limit:
        raise ValidationFailed(
            _(
                "符合条件的客户共 %(count)s 条，超过您单次导出的上限 %(limit)s 条，"
                "请缩小筛选范围后再导出。"
            )
            % {"count": count, "limit": limit}
        )
    used = {key: value for key, value in filters.items() if value not in (None, "", [])}
    summary = "，".join(f"{key}={value}" for key, value in used.items()) or _("无")
    audit.record(
        actor=actor,
        action="customer.exported",
        object_type="customers.customer",
        changes={"count": [None, count], "filters": [None, used]},
        note=_("导出 %(count)s 条客户记录；筛选条件：%(filters)s")
        % {"count": count, "filters": summary},
    )
