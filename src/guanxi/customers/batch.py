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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from guanxi.audit import services as audit
from guanxi.core.errors import DomainError, PossibleDuplicate, ValidationFailed
from guanxi.core.ids import parse_id
from guanxi.customers import services
from guanxi.customers.dedup.matching import (
    BLOCK_PREFIX,
    CANDIDATE_LIMIT,
    Candidate,
    find_candidates_many,
    score_among,
)
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.org.scopes import CHANGE

INSERT_BATCH = 1000


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
    tag_names: list[str] = field(default_factory=list)


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


def _tag_names(tags: list[Any] | None) -> list[str]:
    names = [t.name if isinstance(t, Tag) else str(t).strip() for t in tags or []]
    return sorted({n for n in names if n})


def customer_create_many(
    *, actor: Any, items: Sequence[NewCustomer], confirm_duplicate: bool = False
) -> list[Outcome]:
    """File every valid item; one Outcome per item, in order. Each item is refused
    exactly when customer_create (called for the items one after another) would refuse
    it, with the same error; the others are written with the same history rows
    (customer.created, contact.created) as the single service writes."""
    services._require(actor, "customers.add_customer")
    outcomes = [Outcome() for _item in items]
    types = services.customer_types()
    _load_foreign_keys(items)
    built: list[_Built] = []
    checked: list[tuple[_Built, dict[str, Any], bool]] = []
    for index, item in enumerate(items):
        customer, contacts, errors, fields_valid = services.new_customer(
            actor, item.data, item.contacts, types=types, foreign_keys=False
        )
        checked.append((_Built(index, item, customer, contacts), errors, fields_valid))
    codes = {b.customer.credit_code for b, _e, valid in checked if valid and b.customer.credit_code}
    taken = _taken_codes(codes)
    for candidate, errors, fields_valid in checked:
        if fields_valid and candidate.customer.credit_code in taken:
            outcomes[candidate.index].error = services.duplicate_credit_code()
        elif errors:
            outcomes[candidate.index].error = ValidationFailed(detail=errors)
        else:
            built.append(candidate)
    accepted, possible = _accept(built, outcomes, confirm_duplicate)
    _write(actor, accepted, outcomes, types)
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
    """The codes among `codes` a live customer holds. The query states the condition of
    the live-code unique index (and no ordering), so that the index answers it."""
    if not codes:
        return set()
    return set(
        Customer.objects.alive()
        .exclude(credit_code="")
        .filter(credit_code__in=codes)
        .order_by()
        .values_list("credit_code", flat=True)
    )


def _accept(
    built: list[_Built], outcomes: list[Outcome], confirm: bool
) -> tuple[list[_Built], dict[int, list[Candidate]]]:
    """In order: an item whose code an earlier accepted item holds is a duplicate code;
    one whose name matches the archive or an earlier accepted item is a possible
    duplicate (unless confirmed): index → its candidates, items of this batch with the
    id -1 - their index until they are written."""
    found = (
        find_candidates_many([(b.customer.name_normalised, b.customer.credit_code) for b in built])
        if not confirm
        else [[] for _b in built]
    )
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
            matches = archive + score_among(key, block, credit_code=customer.credit_code)
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
    tags = _tags({name for b in accepted for name in _tag_names(b.item.tags)})
    links = []
    for candidate in accepted:
        candidate.tag_names = _tag_names(candidate.item.tags)
        links += [(candidate.customer.pk, tags[name].pk) for name in candidate.tag_names]
    insert_rows(Customer.tags.through, ["customer_id", "tag_id"], links)
    events = []
    for candidate in accepted:
        customer = candidate.customer
        extra = {}
        if candidate.item.cooperation_status:
            extra["cooperation_status"] = candidate.item.cooperation_status_label
        changes = services.created_changes(
            customer, {"tags": candidate.tag_names, "co_owners": []}, types=types, extra=extra
        )
        events.append(
            audit.build(actor=actor, action="customer.created", obj=customer, changes=changes)
        )
        events += [
            audit.build(
                actor=actor,
                action="contact.created",
                obj=contact,
                changes={"name": [None, contact.name]},
            )
            for contact in candidate.contacts
        ]
    audit.record_many(events, insert=bulk_insert)


def bulk_insert(model: type[models.Model], objs: list[Any]) -> None:
    """INSERT new records and set their ids, as bulk_create does, for the large batches of
    the import. The values are prepared once per field kind (text and integers as they
    are; auto_now / auto_now_add fields get one timestamp for the batch) instead of
    through every field's pre_save and get_db_prep_save; then insert_rows."""
    if not objs:
        return
    if connection.vendor not in {"sqlite", "postgresql"}:
        model.objects.bulk_create(objs, batch_size=INSERT_BATCH)
        return
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    ids = insert_rows(model, [f.column for f in fields], _db_rows(fields, objs), ids=True)
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(
    model: type[models.Model], columns: list[str], rows: list[Any], *, ids: bool = False
) -> list[int]:
    """INSERT rows of database values (in `columns` order, the primary key left to the
    database) into the model's table; with `ids`, return the new ids in row order.

    SQLite: executemany; into a table with triggers (the search index) the rows go to a
    TEMP table first and then into the real one by one INSERT … SELECT, since FTS5 flushes
    its pending index at the end of every statement and a row-by-row insert would write
    one index segment per row. The new ids are the last len(rows) of the table: the write
    transaction (which this runs in) excludes other writers and AUTOINCREMENT only rises.
    PostgreSQL: the ids are drawn from the table's sequence and the rows sent by COPY."""
    if not rows:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    names = ", ".join(quote(c) for c in columns)
    new_ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = sorted(row[0] for row in cursor.fetchall())
            # psycopg's own cursor: its errors become Django's (IntegrityError …) here.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({pk}, {names}) FROM STDIN") as copy,
            ):
                for new_id, row in zip(new_ids, rows, strict=True):
                    copy.write_row((new_id, *row))
            return new_ids
        marks = ", ".join(["%s"] * len(columns))
        if connection.vendor == "sqlite" and _has_triggers(cursor, meta.db_table):
            stage = quote(f"gx_stage_{meta.db_table}")
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "
                           f"SELECT {names} FROM {table} WHERE 0")  # fmt: skip
            cursor.executemany(f"INSERT INTO temp.{stage} ({names}) VALUES ({marks})", rows)
            cursor.execute(f"INSERT INTO {table} ({names}) "
                           f"SELECT {names} FROM temp.{stage} ORDER BY rowid")  # fmt: skip
            cursor.execute(f"DELETE FROM temp.{stage}")
        else:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        if ids:
            cursor.execute(f"SELECT {pk} FROM {table} ORDER BY {pk} DESC LIMIT %s", [len(rows)])
            new_ids = sorted(row[0] for row in cursor.fetchall())
    return new_ids


def _has_triggers(cursor: Any, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s LIMIT 1", [table]
    )
    return cursor.fetchone() is not None


_AS_IS: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.IntegerField: (int,),
    models.BooleanField: (bool,),
    models.ForeignKey: (int,),
}


def _db_rows(fields: list[Any], objs: list[Any]) -> list[list[Any]]:
    """field.get_db_prep_save(field.pre_save(obj, True)) for every field and object, with
    short cuts: a value the field would pass on unchanged (text as str, integers as int,
    None where the column is nullable) is taken as it is; an auto_now(_add) field gets
    the same prepared timestamp on every object of the batch (set on the objects too,
    as pre_save does)."""
    now = timezone.now()
    attnames, kinds, fixed = [], [], {}
    for index, db_field in enumerate(fields):
        attnames.append(db_field.attname)
        if isinstance(db_field, models.DateTimeField) and (
            db_field.auto_now or db_field.auto_now_add
        ):
            for obj in objs:
                setattr(obj, db_field.attname, now)
            fixed[index] = db_field.get_db_prep_save(now, connection)
        plain = next((v for k, v in _AS_IS.items() if isinstance(db_field, k)), ())
        kinds.append(frozenset((*plain, type(None)) if db_field.null else plain))
    checks = [(index, kinds[index]) for index in range(len(fields)) if index not in fixed]
    rows = []
    for obj in objs:
        values = obj.__dict__
        row = [values[name] if name in values else getattr(obj, name) for name in attnames]
        for index, plain in checks:
            if row[index].__class__ not in plain:
                db_field = fields[index]
                row[index] = db_field.get_db_prep_save(db_field.pre_save(obj, True), connection)
        for index, value in fixed.items():
            row[index] = value
        rows.append(row)
    return rows


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
