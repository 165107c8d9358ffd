"""Filing many customers at once (the spreadsheet import): the set-based twin of
customers.services.customer_create. Policy: customers.types.

Same rules, no second copy: every item is built and checked by services.new_customer
(customer_problems + contact_problems: the model's field rules, customer type in policy,
credit-code check character through python-stdnum, the owner/branch defaults), and
refused with the same DomainError the single service raises, in the same order:

    DuplicateCreditCode   the code is taken by a live customer (or an earlier item)
    ValidationFailed      field errors (detail as the service's)
    PossibleDuplicate     a normalised-name candidate (customers.dedup.matching)
    ValidationFailed      the saved customer would fall outside the actor's scope

What differs is how the archive is read and written: foreign keys given as ids are
loaded once per distinct value, the credit-code clashes of all items come from one IN
query, the name candidates from one read per block (find_candidates_many) plus the items
accepted earlier in the same batch, and the customers, contacts, tag links and history
rows are written in bulk (bulk_insert / insert_rows: a staged INSERT … SELECT on SQLite,
COPY on PostgreSQL). The search index follows by itself: it is kept by database
triggers, which fire for these inserts too (customers.search.index).

The caller holds the transaction (all-or-nothing stays one transaction); the writes run
in a savepoint that is rolled back and retried without them when items turn out to be
out of scope or lose a credit-code race.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import get_language

from guanxi.audit import services as audit
from guanxi.core.errors import DomainError, PossibleDuplicate, ValidationFailed
from guanxi.core.ids import parse_id
from guanxi.core.rows import bulk_insert, insert_rows
from guanxi.customers import services
from guanxi.customers.dedup.matching import (
    BLOCK_PREFIX,
    CANDIDATE_LIMIT,
    AheadHits,
    BlockCache,
    Candidate,
    find_candidates_many,
    resolve_ahead,
    score_among,
)
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.search import bulk, tokens
from guanxi.org.scopes import CHANGE


@dataclass
class NewCustomer:
    """One customer to file: the arguments of customer_create, plus the 合作状态 the
    importer writes directly (code and label for the history) until the cooperation app
    offers a bulk status record. `check_only`: check it like the others (its Outcome
    tells whether it would be filed) but do not write it, e.g. an import row that has
    errors of its own."""

    data: dict[str, Any]
    contacts: list[dict[str, Any]] | None = None
    tags: list[Any] | None = None
    cooperation_status: str = ""
    cooperation_status_label: str = ""
    check_only: bool = False
    # What services.new_customer makes of data and contacts, when the caller worked it
    # out ahead (the importer may, in a second process: customers.imports.services).
    prepared: services.NewCustomerParts | None = None
    # With `prepared`: the changes of its customer.created history row (created_history),
    # worked out ahead too, as audit.encode_changes makes them; and its search tokens
    # (search_tokens), where the index takes them (search.bulk.wants_tokens).
    history: str | None = None
    search_tokens: str | None = None
    # The duplicate check's archive hits for it, read and scored ahead from what was
    # committed (dedup.matching.archive_hits_many; the importer, in its second process).
    archive_hits: AheadHits | None = None


@dataclass
class Outcome:
    """The filed customer, or the error customer_create would have raised."""

    customer: Customer | None = None
    error: DomainError | None = None


@dataclass
class _Built:
    index: int
    item: NewCustomer
    customer: Customer
    contacts: list[Contact]


def _load_foreign_keys(items: Sequence[NewCustomer]) -> None:
    """Foreign keys given as ids become instances, one query per field for all items;
    unknown ids are left for the service's own message (_clean_input)."""
    for name, model in services._FK_MODELS.items():
        wanted = {
            parse_id(item.data[name])
            for item in items
            if name in item.data and item.data[name] not in (None, "")
            and not isinstance(item.data[name], model)
        }  # fmt: skip
        wanted.discard(None)
        if not wanted:
            continue
        found = model.objects.in_bulk(wanted)
        for item in items:
            value = item.data.get(name)
            if value not in (None, "") and not isinstance(value, model):
                instance = found.get(parse_id(value))
                if instance is not None:
                    item.data = {**item.data, name: instance}


def created_history(
    item: NewCustomer, customer: Customer, *, types: dict[str, str], language: Any
) -> dict[str, list[Any]]:
    """The changes of the customer.created history row of `item` filed as `customer`
    (services.new_customer's): what customer_create records, plus the 合作状态 written
    with it. `types`, `language`: see services.created_changes."""
    extra = {"cooperation_status": item.cooperation_status_label}
    m2m = {"tags": _tag_names(item.tags), "co_owners": []}
    return services.created_changes(customer, m2m, types=types, extra=extra, language=language)


def search_tokens(customer: Customer, contacts: list[Contact]) -> str:
    """The name tokens of a new customer filed with these contacts (search.tokens): its
    docs are the customer's and its live contacts'; a new customer has no co-owners."""
    names = [customer.name, *(c.name for c in contacts if c.deleted_at is None)]
    return tokens.name_tokens(names, owner_id=customer.owner_id)


def _tag_names(tags: list[Any] | None) -> list[str]:
    names = [t.name if isinstance(t, Tag) else str(t).strip() for t in tags or []]
    return sorted({n for n in names if n})


def customer_create_many(
    *,
    actor: Any,
    items: Sequence[NewCustomer],
    confirm_duplicate: bool = False,
    blocks: BlockCache | None = None,
    taken_codes: set[str] | None = None,
) -> list[Outcome]:
    """File every valid item; one Outcome per item, in order. Each item is refused
    exactly when customer_create (called for the items one after another) would refuse
    it, with the same error; the others are written with the same history rows
    (customer.created, contact.created) as the single service writes. `blocks`: name
    blocks kept across the calls of one transaction (dedup.matching.BlockCache); the
    customers filed here are added to it. `taken_codes`: the credit codes live customers
    hold, as the caller read them in this transaction with nothing written since (at least
    those of the items); else they are read here."""
    services._require(actor, "customers.add_customer")
    outcomes = [Outcome() for _item in items]
    types = services.customer_types()
    _load_foreign_keys(items)
    built: list[_Built] = []
    checked: list[tuple[_Built, dict[str, Any], bool]] = []
    for index, item in enumerate(items):
        customer, contacts, errors, fields_valid = item.prepared or services.new_customer(
            actor, item.data, item.contacts, types=types, foreign_keys=False
        )
        checked.append((_Built(index, item, customer, contacts), errors, fields_valid))
    codes = {b.customer.credit_code for b, _e, valid in checked if valid and b.customer.credit_code}
    taken = _taken_codes(codes) if taken_codes is None else taken_codes & codes
    for candidate, errors, fields_valid in checked:
        if fields_valid and candidate.customer.credit_code in taken:
            outcomes[candidate.index].error = services.duplicate_credit_code()
        elif errors:
            outcomes[candidate.index].error = ValidationFailed(detail=errors)
        else:
            built.append(candidate)
    accepted, possible = _accept(built, outcomes, confirm_duplicate, blocks)
    _write(actor, accepted, outcomes, types)
    if blocks is not None:
        for candidate in accepted:
            customer = candidate.customer
            if customer.pk is not None:
                blocks.add(customer.pk, customer.name_normalised, name=customer.name,
                           credit_code=customer.credit_code)  # fmt: skip
    # Candidates among this batch's items get their ids now that those are written.
    ids = {-1 - b.index: b.customer.pk for b in accepted if b.customer.pk is not None}
    for index, matches in possible.items():
        found = [replace(c, id=ids[c.id]) if c.id < 0 else c for c in matches if c.id in ids
                 or c.id >= 0]  # fmt: skip
        found.sort(key=lambda c: (-c.score, c.id))
        outcomes[index].error = PossibleDuplicate(
            detail={"candidates": [c.as_detail() for c in found[:CANDIDATE_LIMIT]]}
        )
    return outcomes


def _taken_codes(codes: set[str]) -> set[str]:
    """The codes among `codes` a live customer holds (read through the live-code index:
    CustomerQuerySet.holding_codes)."""
    if not codes:
        return set()
    return set(
        Customer.objects.holding_codes(codes).order_by().values_list("credit_code", flat=True)
    )


def _accept(
    built: list[_Built], outcomes: list[Outcome], confirm: bool, blocks: BlockCache | None
) -> tuple[list[_Built], dict[int, list[Candidate]]]:
    """In order: an item whose code an earlier accepted item holds is a duplicate code;
    one whose name matches the archive or an earlier accepted item is a possible
    duplicate (unless confirmed): index → its candidates, items of this batch with the
    id -1 - their index until they are written.

    When every item comes with its archive hits read ahead (NewCustomer.archive_hits,
    from what was committed) and `blocks` does not call them stale, only their records
    are read here, and the customers filed through `blocks` by earlier calls, which that
    read could not see, are compared here (BlockCache.filed)."""
    keys = [(b.customer.name_normalised, b.customer.credit_code) for b in built]
    ahead = [b.item.archive_hits for b in built]
    use_ahead = (blocks is None or blocks.ahead_current) and all(h is not None for h in ahead)
    if confirm:
        found: list[list[Candidate]] = [[] for _b in built]
    elif use_ahead:
        found = resolve_ahead(keys, ahead)  # type: ignore[arg-type]
    else:
        found = find_candidates_many(keys, blocks=blocks)
    filed = blocks.filed if use_ahead and blocks is not None else None
    accepted: list[_Built] = []
    possible: dict[int, list[Candidate]] = {}
    codes: set[str] = set()
    earlier: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for candidate, archive in zip(built, found, strict=True):
        customer = candidate.customer
        if customer.credit_code and customer.credit_code in codes:
            outcomes[candidate.index].error = services.duplicate_credit_code()
            continue
        key = customer.name_normalised
        if not confirm and key:
            block = earlier[key[:BLOCK_PREFIX]]
            if filed is not None:
                block = [*filed(key[:BLOCK_PREFIX]), *block]
            among = score_among(key, block, credit_code=customer.credit_code)
            # A customer filed by an earlier, committed chunk may be in both.
            seen = {c.id for c in archive}
            matches = archive + [c for c in among if c.id not in seen]
            if matches:
                possible[candidate.index] = matches
                continue
        if candidate.item.check_only:
            continue
        if key:
            earlier[key[:BLOCK_PREFIX]].append(
                (-1 - candidate.index, customer.name, key, customer.credit_code)
            )
        if customer.credit_code:
            codes.add(customer.credit_code)
        accepted.append(candidate)
    return accepted, possible


class _Retry(Exception):
    """Undo the savepoint: these items cannot be written (index → error)."""

    def __init__(self, refused: dict[int, DomainError]):
        self.refused = refused


def _write(actor: Any, accepted: list[_Built], outcomes: list[Outcome], types: dict) -> None:
    while accepted:
        try:
            with transaction.atomic():
                _insert(actor, accepted, types)
        except _Retry as retry:
            for candidate in accepted:  # the savepoint is gone: so are their ids
                candidate.customer.pk = None
                for contact in candidate.contacts:
                    contact.pk = None
            for index, error in retry.refused.items():
                outcomes[index].error = error
            accepted = [b for b in accepted if b.index not in retry.refused]
            continue
        for candidate in accepted:
            outcomes[candidate.index].customer = candidate.customer
        return


def _insert(actor: Any, accepted: list[_Built], types: dict) -> None:
    customers = []
    for candidate in accepted:
        customer = candidate.customer
        if candidate.item.cooperation_status:
            customer.cooperation_status = candidate.item.cooperation_status
        customers.append(customer)
    # SQLite: the search docs and index are written set-based (index_docs); the list
    # pages' token is replaced once
    with bulk.paused():
        try:
            bulk_insert(Customer, customers)
        except IntegrityError:
            # Another writer took a credit code since the check: refuse those items as the
            # service does (its unique constraint decides), write the rest.
            taken = _taken_codes({c.credit_code for c in customers if c.credit_code})
            if not taken:
                raise
            raise _Retry(
                {
                    b.index: services.duplicate_credit_code()
                    for b in accepted
                    if b.customer.credit_code in taken
                }
            ) from None
        visible = set(
            Customer.objects.visible_to(actor, CHANGE)
            .filter(pk__in=[c.pk for c in customers])
            .values_list("pk", flat=True)
        )
        if len(visible) < len(customers):
            raise _Retry(
                {b.index: services.out_of_scope() for b in accepted if b.customer.pk not in visible}
            )
        contacts = []
        for candidate in accepted:
            for contact in candidate.contacts:
                contact.customer = candidate.customer
                contacts.append(contact)
        bulk_insert(Contact, contacts)
        names = {b.index: _tag_names(b.item.tags) for b in accepted}
        tags = _tags({name for item_names in names.values() for name in item_names})
        links = [(b.customer.pk, tags[name].pk) for b in accepted for name in names[b.index]]
        insert_rows(Customer.tags.through, ["customer_id", "tag_id"], links)
        bulk.index_docs(
            customer_ids=[c.pk for c in customers],
            contact_ids=[c.pk for c in contacts],
            tokens={
                b.customer.pk: search_tokens(b.customer, b.contacts)
                if b.item.search_tokens is None
                else b.item.search_tokens
                for b in accepted
            }
            if bulk.wants_tokens()
            else None,
        )
    language = get_language()  # once for the batch (see services._snapshot)

    def history() -> Iterator[tuple[str, Any, dict[str, Any] | str]]:
        for candidate in accepted:
            customer, item = candidate.customer, candidate.item
            changes = item.history
            if changes is None:
                changes = created_history(item, customer, types=types, language=language)
            yield "customer.created", customer, changes
            for contact in candidate.contacts:
                yield "contact.created", contact, {"name": [None, contact.name]}

    audit.record_batch(actor=actor, entries=history())


def _tags(names: set[str]) -> dict[str, Tag]:
    """name → Tag, creating the missing ones (as the service's get_or_create does)."""
    if not names:
        return {}
    found = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = names - set(found)
    if missing:
        Tag.objects.bulk_create([Tag(name=n) for n in sorted(missing)], ignore_conflicts=True)
        found.update({t.name: t for t in Tag.objects.filter(name__in=missing)})
    return found
