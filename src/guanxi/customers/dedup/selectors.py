"""Reads of duplicate handling: the review list, the merge comparison, merge records, the
timeline of a survivor and where a merged-away customer went. All start from scope."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit.models import AuditEvent
from guanxi.audit.selectors import customer_history
from guanxi.core.errors import NotFound
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.dedup.links import customer_links
from guanxi.customers.dedup.matching import REVIEW_SCORE, DuplicatePair, scan_blocks
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.models import Customer
from guanxi.org.scopes import VIEW

REVIEW_PAGE_SIZE = 50
# Customers read per review page at most: one page answers in well under a second even
# when duplicates are rare; the page then offers to continue from where it stopped.
REVIEW_ROW_BUDGET = 20_000
MAX_MERGE_CHAIN = 20


# --- the review list -----------------------------------------------------------------------
@dataclass
class ReviewRow:
    pair: DuplicatePair
    first: Customer
    second: Customer


@dataclass
class ReviewPage:
    rows: list[ReviewRow]
    scanned: int
    next_after: str | None  # keyset cursor: resume at this block …
    next_skip: int  # … after this many of its pairs


def duplicate_review(
    *,
    actor: Any,
    threshold: float = REVIEW_SCORE,
    after: str = "",
    skip: int = 0,
    size: int | None = None,
    budget: int | None = None,
) -> ReviewPage:
    """One page of candidate pairs among the customers the actor may see (both of each
    pair visible), in key order, resuming at block `after` past `skip` of its pairs.
    A page ends after `size` pairs or once `budget` customers were read."""
    size = size or REVIEW_PAGE_SIZE
    budget = budget or REVIEW_ROW_BUDGET
    pairs: list[DuplicatePair] = []
    scanned, cursor = 0, (None, 0)
    for block in scan_blocks(actor=actor, threshold=threshold, start=after):
        offset = skip if block.prefix == after else 0
        available = block.pairs[offset:]
        scanned += block.size
        room = size - len(pairs)
        if len(available) > room:
            pairs += available[:room]
            cursor = (block.prefix, offset + room)
            break
        pairs += available
        if len(pairs) >= size or scanned >= budget:
            cursor = (block.prefix, len(block.pairs))
            break
    ids = {pk for pair in pairs for pk in (pair.low_id, pair.high_id)}
    customers = Customer.objects.select_related("owner", "department").in_bulk(ids)
    rows = [ReviewRow(pair, customers[pair.low_id], customers[pair.high_id]) for pair in pairs]
    return ReviewPage(rows, scanned, cursor[0], cursor[1])


# --- where a merged-away customer went -----------------------------------------------------
def merged_survivor_id(*, actor: Any, pk: Any) -> int | None:
    """The live customer a merged-away customer `pk` ended up in (following later merges),
    if the actor may see it; else None."""
    try:
        current = int(pk)
    except (TypeError, ValueError):
        return None
    for _step in range(MAX_MERGE_CHAIN):
        row = (
            Customer.objects.filter(pk=current).values_list("deleted_at", "merged_into_id").first()
        )
        if row is None:
            return None
        deleted_at, merged_into_id = row
        if deleted_at is None:
            break
        if merged_into_id is None:
            return None
        current = merged_into_id
    else:
        return None
    if current == int(pk):
        return None
    visible = Customer.objects.visible_to(actor, VIEW).alive().filter(pk=current).exists()
    return current if visible else None


# --- the survivor's timeline ---------------------------------------------------------------
def merged_customer_ids(customer_id: int) -> list[int]:
    """The customer and every customer merged into it (and into those), not reversed."""
    found, frontier = [customer_id], [customer_id]
    while frontier and len(found) < 1000:
        merged = list(
            MergeRecord.objects.filter(survivor_id__in=frontier, reversed_at__isnull=True)
            .exclude(merged_id__in=found)
            .values_list("merged_id", flat=True)
        )
        found.extend(merged)
        frontier = merged
    return found


def customer_timeline(*, customer_id: int) -> QuerySet[AuditEvent]:
    """A customer's history including the histories of the customers merged into it.
    (The audit log is append-only, so a merge cannot re-point the merged customer's rows;
    the survivor's timeline reads them where they are.)"""
    ids = merged_customer_ids(customer_id)
    return functools.reduce(operator.or_, [customer_history(customer_id=pk) for pk in ids])


# --- the merge page ------------------------------------------------------------------------
@dataclass
class FieldRow:
    name: str
    label: str
    survivor: Any  # readable value, phone numbers masked as in the archive
    merged: Any
    default: str
    differs: bool


def merge_comparison(*, actor: Any, survivor: Customer, merged: Customer) -> list[FieldRow]:
    """Field by field, the readable values of both customers and the default choice.
    Phone and fax are masked outside the actor's own customers (compliance.mask_phones)."""
    from guanxi.customers.dedup.services import MERGE_FIELDS, default_choices
    from guanxi.customers.services import _snapshot

    left, right = _snapshot(survivor), _snapshot(merged)
    shown = []
    for values, customer in ((left, survivor), (right, merged)):
        visible = customer_selectors.phones_visible(actor=actor, customer=customer)
        shown.append(
            {
                name: customer_selectors.display_phone(value, visible=visible)
                if name in ("phone", "fax") and value
                else value
                for name, value in values.items()
            }
        )
    defaults = default_choices(survivor, merged)
    return [
        FieldRow(
            name,
            str(Customer._meta.get_field(name).verbose_name),
            shown[0].get(name),
            shown[1].get(name),
            defaults[name],
            left.get(name) != right.get(name),
        )
        for name in MERGE_FIELDS
    ]


def merge_moves(*, merged: Customer) -> list[tuple[str, int]]:
    """What a merge would move or add from `merged`: (label, count) per kind of record."""
    counts: dict[str, int] = {}
    for link in customer_links():
        number = link.rows.filter(**{link.field.attname: merged.pk}).count()
        if number:
            counts[link.verbose_name] = counts.get(link.verbose_name, 0) + number
    history = customer_history(customer_id=merged.pk).count()
    if history:
        counts[_("变更历史")] = history
    return list(counts.items())


# --- merge records ---------------------------------------------------------------------------
def merge_records(*, actor: Any) -> QuerySet[MergeRecord]:
    """Merges whose survivor the actor may see, newest first."""
    visible = Customer.objects.visible_to(actor, VIEW).values("pk")
    return (
        MergeRecord.objects.filter(survivor_id__in=visible)
        .select_related("survivor", "merged", "actor", "reversed_by")
        .order_by("-at", "-id")
    )


def merge_get(*, actor: Any, pk: Any) -> MergeRecord:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    record = merge_records(actor=actor).filter(pk=pk).first()
    if record is None:
        raise NotFound()
    return record


def reversible_since() -> dt.datetime:
    """Merges at or after this moment may still be reversed (customers.recycle_bin_days)."""
    return timezone.now() - dt.timedelta(days=policy.get("customers.recycle_bin_days"))


def with_visibility(*, actor: Any, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Duplicate candidates ({id, name, score}) marked with whether the actor may open
    them (only those are linked)."""
    ids = [candidate["id"] for candidate in candidates]
    visible = set(
        Customer.objects.visible_to(actor, VIEW)
        .alive()
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    return [{**candidate, "visible": candidate["id"] in visible} for candidate in candidates]
