"""Writes of duplicate handling: merging two customers, reversing a merge, and marking a
candidate pair as two different companies. Policy: customers.recycle_bin_days.

Merge (customer_merge)
    Who: customers.change_customer and customers.delete_customer (a merge removes a
    record from the live archive, like a delete), with both customers in the actor's
    change scope. Both rows are locked in primary-key order, so two opposite merges
    (A into B, B into A) serialise and the second one fails with AlreadyMerged.

    Fields: the user picks, field by field, the survivor's or the merged customer's value
    (`field_choices`); by default the survivor's, or the merged customer's where the
    survivor's is empty. The credit code travels with its override reason.

    Records: every record hanging on the merged customer moves to the survivor (see
    links.py: contacts, their relations, special dates, attachments, tags, co-owners,
    and the records of later capabilities, found from the model graph; their apps can
    declare hooks to rebuild aggregates). History: audit
    rows are append-only, so they stay where they are and the survivor's timeline also
    reads the histories of the customers merged into it (selectors.customer_timeline).

    The merged customer is soft-deleted with merged_into = survivor; its URL leads to the
    survivor. A MergeRecord keeps what is needed to undo it.

Reversal (customer_merge_reverse)
    Who: holders of customers.restore_customer whose role is system administrator or
    archive keeper (the roles that answer for the archive as a whole), within the
    recycle-bin period (customers.recycle_bin_days) counted from the merge. It restores the
    merged customer, points its moved records back, removes what was added to the
    survivor's many-to-many relations, and restores the survivor's fields the merge
    changed — unless someone changed them since (those are kept and named in the audit).
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.audit.models import AuditEvent
from guanxi.core.errors import (
    AlreadyMerged,
    Conflict,
    DuplicateCreditCode,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from guanxi.customers.dedup.links import (
    MOVE,
    UNITE,
    customer_links,
    link_by_label,
    merge_hooks,
)
from guanxi.customers.dedup.models import DuplicateDismissal, MergeRecord
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.models import Customer
from guanxi.customers.services import (
    CUSTOMER_FIELDS,
    _check_customer,
    _ensure_still_visible,
    _m2m_snapshot,
    _require,
    _save_customer,
    _snapshot,
)
from guanxi.org.scopes import CHANGE

SURVIVOR = "survivor"
MERGED = "merged"
# Fields the user chooses between; a field listed in COUPLED travels with its key field.
MERGE_FIELDS = [name for name in CUSTOMER_FIELDS if name != "credit_code_override_reason"]
COUPLED = {"credit_code": ("credit_code_override_reason",)}
REVERSING_ROLES = ("administrator", "archive_keeper")
_CHUNK = 500


# --- values --------------------------------------------------------------------------------
def _raw(customer: Customer, name: str) -> Any:
    """The stored value of a field (the id for a foreign key)."""
    return Customer._meta.get_field(name).value_from_object(customer)


def _json(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _empty(value: Any) -> bool:
    return value is None or value == ""


def default_choices(survivor: Customer, merged: Customer) -> dict[str, str]:
    """The survivor's value, or the merged customer's where the survivor's is empty."""
    return {
        name: MERGED
        if _empty(_raw(survivor, name)) and not _empty(_raw(merged, name))
        else SURVIVOR
        for name in MERGE_FIELDS
    }


def _resolve_choices(
    survivor: Customer, merged: Customer, field_choices: dict[str, str] | None
) -> dict[str, str]:
    field_choices = dict(field_choices or {})
    errors = {}
    for name, side in field_choices.items():
        if name not in MERGE_FIELDS:
            errors[name] = [_("该字段不能在合并时选择。")]
        elif side not in (SURVIVOR, MERGED):
            errors[name] = [_("请选择 survivor（保留客户）或 merged（被合并客户）。")]
    if errors:
        raise ValidationFailed(detail={"fields": errors})
    return {**default_choices(survivor, merged), **field_choices}


# --- locking -------------------------------------------------------------------------------
def _lock_pair(actor: Any, first_id: int, second_id: int) -> dict[int, Customer]:
    """Both customers, locked in primary-key order, through the actor's change scope."""
    ids = sorted({first_id, second_id})
    rows = (
        Customer.objects.visible_to(actor, CHANGE)
        .select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
    )
    found = {customer.pk: customer for customer in rows}
    if len(found) != len(ids):
        raise NotFound()
    return found


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


# --- merge ---------------------------------------------------------------------------------
def _move_links(survivor: Customer, merged: Customer) -> tuple[dict[str, Any], dict[str, int]]:
    """Move or unite every link of the merged customer; returns (undo data, counts)."""
    undo: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for link in customer_links():
        if link.kind == MOVE:
            rows = link.rows.filter(**{link.field.attname: merged.pk})
            ids = list(rows.values_list("pk", flat=True))
            if not ids:
                continue
            try:
                with transaction.atomic():
                    rows.update(**{link.field.attname: survivor.pk})
            except IntegrityError as exc:
                raise Conflict(
                    _("“%(records)s”不能自动合并（与保留客户的记录冲突），请先处理后再合并。")
                    % {"records": link.verbose_name}
                ) from exc
            undo[link.label] = {"kind": MOVE, "ids": ids}
        else:
            other = link.other.attname
            theirs = set(
                link.rows.filter(**{link.field.attname: merged.pk}).values_list(other, flat=True)
            )
            mine = set(
                link.rows.filter(**{link.field.attname: survivor.pk}).values_list(other, flat=True)
            )
            added = sorted(theirs - mine)
            if link.model is Customer.co_owners.through:
                added = [pk for pk in added if pk != survivor.owner_id]
            if not added:
                continue
            link.rows.bulk_create(
                [link.model(**{link.field.attname: survivor.pk, other: pk}) for pk in added]
            )
            undo[link.label] = {"kind": UNITE, "added": added}
            ids = added
        counts[link.verbose_name] = counts.get(link.verbose_name, 0) + len(ids)
    return undo, counts


@transaction.atomic
def customer_merge(
    *,
    actor: Any,
    survivor_id: int,
    merged_id: int,
    field_choices: dict[str, str] | None = None,
) -> Customer:
    """Merge customer `merged_id` into `survivor_id` (see the module docstring)."""
    _require(actor, "customers.change_customer")
    _require(actor, "customers.delete_customer")
    survivor_id, merged_id = _as_id(survivor_id), _as_id(merged_id)
    if survivor_id == merged_id:
        raise ValidationFailed(detail={"from": [_("不能把客户合并到它自己。")]})
    locked = _lock_pair(actor, survivor_id, merged_id)
    survivor, merged = locked[survivor_id], locked[merged_id]
    for customer in (survivor, merged):
        if customer.merged_into_id is not None:
            raise AlreadyMerged()
        if customer.deleted_at is not None:
            raise NotFound()
    choices = _resolve_choices(survivor, merged, field_choices)
    before = {**_snapshot(survivor), **_m2m_snapshot(survivor)}

    # The merged customer leaves the live archive first: its credit code may move over.
    merged.deleted_at, merged.deleted_by, merged.merged_into = timezone.now(), actor, survivor
    merged.save(update_fields=["deleted_at", "deleted_by", "merged_into"])

    fields: dict[str, dict[str, Any]] = {}
    for name, side in choices.items():
        if side != MERGED:
            continue
        for field_name in (name, *COUPLED.get(name, ())):
            field = Customer._meta.get_field(field_name)
            old, new = _raw(survivor, field_name), _raw(merged, field_name)
            if old != new:
                fields[field_name] = {"before": _json(old), "after": _json(new)}
                setattr(survivor, field.attname, new)
    if fields:
        _check_customer(actor, survivor)
        _save_customer(survivor)
    else:
        survivor.save(update_fields=["updated_at"])

    links, counts = _move_links(survivor, merged)
    for hook in merge_hooks("customer_merged"):
        hook(actor=actor, survivor=survivor, merged=merged)
    history = AuditEvent.objects.filter(customer_id=merged.pk).count()
    if history:
        counts[_("变更历史")] = history
    _ensure_still_visible(actor, survivor)
    MergeRecord.objects.create(
        survivor=survivor,
        merged=merged,
        actor=actor,
        field_choices=choices,
        snapshot={"fields": fields, "links": links},
    )
    changes: dict[str, Any] = {"merged_from": [None, f"{merged.name}（#{merged.pk}）"]}
    changes.update(audit.diff(before, {**_snapshot(survivor), **_m2m_snapshot(survivor)}))
    if counts:
        changes["moved"] = [None, counts]
    audit.record(
        actor=actor,
        action="customer.merged",
        obj=survivor,
        changes=changes,
        note=_("客户“%(name)s”（#%(id)s）已合并入此档案。")
        % {"name": merged.name, "id": merged.pk},
    )
    audit.record(
        actor=actor,
        action="customer.merged_away",
        obj=merged,
        changes={"merged_into": [None, f"{survivor.name}（#{survivor.pk}）"]},
    )
    return survivor


# --- reversal ------------------------------------------------------------------------------
def can_reverse_merges(actor: Any) -> bool:
    """Reversal rewrites two archives after the fact: administrators and archive keepers
    holding customers.restore_customer (see the module docstring)."""
    if not actor.has_perm("customers.restore_customer"):
        return False
    return bool(actor.is_superuser or actor.has_role(*REVERSING_ROLES))


def merge_reversible_until(record: MergeRecord) -> dt.datetime:
    return record.at + dt.timedelta(days=policy.get("customers.recycle_bin_days"))


def _chunks(ids: list[Any]) -> list[list[Any]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _move_back(survivor: Customer, merged: Customer, links: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label, entry in links.items():
        link = link_by_label(label)
        if link is None:  # the model no longer exists
            continue
        done = 0
        if entry["kind"] == MOVE:
            for ids in _chunks(entry["ids"]):
                done += link.rows.filter(pk__in=ids, **{link.field.attname: survivor.pk}).update(
                    **{link.field.attname: merged.pk}
                )
        else:
            for ids in _chunks(entry["added"]):
                done += link.rows.filter(
                    **{link.field.attname: survivor.pk, f"{link.other.attname}__in": ids}
                ).delete()[0]
        if done:
            counts[link.verbose_name] = counts.get(link.verbose_name, 0) + done
    return counts


@transaction.atomic
def customer_merge_reverse(*, actor: Any, merge_id: int) -> Customer:
    """Undo a merge within the recycle-bin period; returns the restored customer."""
    _require(actor, "customers.restore_customer")
    record = MergeRecord.objects.select_for_update().filter(pk=_as_id(merge_id)).first()
    if record is None:
        raise NotFound()
    locked = _lock_pair(actor, record.survivor_id, record.merged_id)
    if not can_reverse_merges(actor):
        raise PermissionDenied(_("只有系统管理员或档案管理员可以撤销客户合并。"))
    if record.reversed_at is not None:
        raise Conflict(_("该合并已经撤销。"))
    keep_days = policy.get("customers.recycle_bin_days")
    if timezone.now() > merge_reversible_until(record):
        raise ValidationFailed(
            _("已超过回收站保留期（%(days)s天），不能撤销合并。") % {"days": keep_days}
        )
    survivor, merged = locked[record.survivor_id], locked[record.merged_id]
    if survivor.deleted_at is not None:
        raise ValidationFailed(_("保留客户已被删除或又合并到其他客户，请先恢复或撤销那次操作。"))
    if merged.merged_into_id != survivor.pk:
        raise Conflict(_("被合并客户的状态已改变，不能撤销。"))
    if (
        merged.credit_code
        and Customer.objects.alive()
        .filter(credit_code=merged.credit_code)
        .exclude(pk=survivor.pk)
        .exists()
    ):
        raise DuplicateCreditCode(_("已有其他客户使用被合并客户的统一社会信用代码，不能撤销。"))
    before = {**_snapshot(survivor), **_m2m_snapshot(survivor)}

    kept = []
    for name, values in record.snapshot.get("fields", {}).items():
        field = Customer._meta.get_field(name)
        if _json(_raw(survivor, name)) == values["after"]:
            setattr(survivor, field.attname, field.to_python(values["before"]))
        else:
            kept.append(str(field.verbose_name))
    survivor.name_normalised = normalise_name(survivor.name)
    _save_customer(survivor)
    counts = _move_back(survivor, merged, record.snapshot.get("links", {}))

    merged.deleted_at = merged.deleted_by = merged.merged_into = None
    _save_customer(merged)
    for hook in merge_hooks("customer_merge_reversed"):
        hook(actor=actor, survivor=survivor, merged=merged)
    record.reversed_at, record.reversed_by = timezone.now(), actor
    record.save(update_fields=["reversed_at", "reversed_by"])

    changes: dict[str, Any] = {"merged_from": [f"{merged.name}（#{merged.pk}）", None]}
    changes.update(audit.diff(before, {**_snapshot(survivor), **_m2m_snapshot(survivor)}))
    if counts:
        changes["moved"] = [counts, None]
    note = _("撤销与客户“%(name)s”（#%(id)s）的合并。") % {"name": merged.name, "id": merged.pk}
    if kept:
        note += _("合并后又修改过的字段保持现值：%(fields)s。") % {"fields": "、".join(kept)}
    audit.record(
        actor=actor, action="customer.merge_reversed", obj=survivor, changes=changes, note=note
    )
    audit.record(
        actor=actor,
        action="customer.unmerged",
        obj=merged,
        changes={"merged_into": [f"{survivor.name}（#{survivor.pk}）", None]},
    )
    _ensure_still_visible(actor, merged)
    return merged


# --- dismissing a candidate pair -------------------------------------------------------------
@transaction.atomic
def duplicate_dismiss(
    *, actor: Any, customer_id: int, other_id: int, reason: str = ""
) -> DuplicateDismissal:
    """Record that two customers the scan proposed are different companies; the pair is no
    longer proposed. Both must be in the actor's change scope. Idempotent."""
    _require(actor, "customers.change_customer")
    low, high = sorted((_as_id(customer_id), _as_id(other_id)))
    if low == high:
        raise ValidationFailed(detail={"other": [_("请选择另一位客户。")]})
    customers = {
        c.pk: c
        for c in Customer.objects.visible_to(actor, CHANGE).alive().filter(pk__in=[low, high])
    }
    if len(customers) != 2:
        raise NotFound()
    reason = (reason or "").strip()[:200]
    dismissal, created = DuplicateDismissal.objects.get_or_create(
        customer_low_id=low, customer_high_id=high, defaults={"actor": actor, "reason": reason}
    )
    if created:
        for pk, other in ((low, high), (high, low)):
            note = _("与客户“%(name)s”（#%(id)s）不是同一客户。") % {
                "name": customers[other].name,
                "id": other,
            }
            audit.record(
                actor=actor,
                action="duplicate.dismissed",
                obj=dismissal,
                customer_id=pk,
                note=f"{note}{reason}",
            )
    return dismissal
