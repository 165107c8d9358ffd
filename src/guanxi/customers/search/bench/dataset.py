"""Benchmark data: the demo company (customers.demo) at scale, written fast.

The organisation and reference data come from `seed_demo(customers=0)`; the customers are
the demo generator's plans (same tables, same distributions, globally unique names and
credit codes), produced in a child process while this one writes them with executemany
(SQLite) or COPY (PostgreSQL). Only what lists, search, export and duplicate scans read is
written: customers, contacts, tags and co-owners — no history rows, relationship circles
or special dates (the demo seeder writes those; a million audit rows would only slow the
set-up). The search index follows by its triggers, as for any other write.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from guanxi import policy
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.demo import DEFAULT_SEED, DemoGenerator, seed_demo
from guanxi.customers.models import Contact, Customer, Industry, Region, Tag
from guanxi.customers.search.maintenance import compact_search_index, upkeep
from guanxi.org.models import Department, User

BATCH = 5000

Progress = Callable[[int, int], None]


def _policy_codes() -> dict[str, list[str]]:
    def codes(key: str) -> list[str]:
        return [entry["code"] for entry in policy.get(key)]

    return {
        "types": codes("customers.types"),
        "grades": codes("grading.bands"),
        "statuses": codes("cooperation.ladder"),
        "credit_levels": codes("credit.levels"),
    }


def _generate(out: Any, count: int, seed: int, now: Any, codes: dict[str, list[str]]) -> None:
    """Stage 1 (child process): plans in batches, from one generator (global uniqueness)."""
    generator = DemoGenerator(seed=seed, now=now, codes=codes)
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        out.put([generator.customer() for _ in range(size)])
        done += size
    out.put(None)


class _Rows:
    """One table's rows in the database's own representation (dates, decimals, booleans),
    ids left out: the writer assigns them."""

    def __init__(self, model: Any, fields: list[str]):
        self.table = model._meta.db_table
        self.fields = [model._meta.get_field(name) for name in fields]
        self.columns = [f.column for f in self.fields]

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            f.get_db_prep_save(values.get(f.attname, values.get(f.name)), connection)
            for f in self.fields
        )


CUSTOMER_FIELDS = [
    "name", "name_normalised", "credit_code", "credit_code_override_reason",
    "legal_representative", "registered_capital", "business_scope", "address", "postcode",
    "phone", "fax", "email", "website", "industry", "customer_type", "region", "department",
    "source_channel", "owner", "value_tier", "cooperation_status", "grade", "credit_level",
    "secrecy_level", "first_contact_on", "notes", "created_by", "created_at", "updated_at",
    "deleted_at", "deleted_by", "merged_into",
]  # fmt: skip
CONTACT_FIELDS = [
    "name", "title", "mobile", "phone", "email", "birthday", "hobbies", "notes", "deal_role",
    "is_primary", "deleted_at", "created_at", "updated_at",
]  # fmt: skip


@dataclass
class _Batch:
    customers: list[tuple[Any, ...]]
    credit_codes: list[str]
    contacts: list[tuple[int, tuple[Any, ...]]]  # (customer index in the batch, row)
    tags: list[tuple[int, int]]  # (customer index, tag id)
    co_owners: list[tuple[int, int]]  # (customer index, user id)


def _convert(source: Any, out: Any, lookups: dict[str, dict[str, int]]) -> None:
    """Stage 2 (child process): plans onto rows (name keys, foreign keys, db formats)."""
    customers, contacts = _Rows(Customer, CUSTOMER_FIELDS), _Rows(Contact, CONTACT_FIELDS)
    users, tags = lookups["users"], lookups["tags"]
    while (plans := source.get()) is not None:
        batch = _Batch([], [], [], [], [])
        for index, plan in enumerate(plans):
            owner = users[plan.owner]
            batch.credit_codes.append(plan.credit_code)
            batch.customers.append(
                customers.row(
                    {
                        **plan.__dict__,
                        "name_normalised": normalise_name(plan.name),
                        "credit_code_override_reason": "",
                        "industry": lookups["industries"].get(plan.industry or ""),
                        "region": lookups["regions"][plan.region],
                        "department": lookups["departments"][plan.branch],
                        "owner": owner,
                        "created_by": owner,
                    }
                )
            )
            for item in plan.contacts:
                values = {**item.__dict__, "created_at": plan.created_at}
                values["updated_at"] = plan.updated_at
                batch.contacts.append((index, contacts.row(values)))
            batch.tags += [(index, tags[name]) for name in plan.tags if name in tags]
            if plan.co_owner and plan.co_owner != plan.owner:
                batch.co_owners.append((index, users[plan.co_owner]))
        out.put(batch)
    out.put(None)


class _ListQueue(list):
    put = list.append

    def get(self) -> Any:
        return self.pop(0)


def _batches(count: int, seed: int, lookups: dict[str, dict[str, int]]) -> Iterator[_Batch]:
    """Generation and conversion run in two child processes while this one writes (in this
    process for a single batch, e.g. in tests: no fork, the connection stays open)."""
    codes, now = _policy_codes(), timezone.now()
    if count <= BATCH:
        plans, batches = _ListQueue(), _ListQueue()
        _generate(plans, count, seed, now, codes)
        _convert(plans, batches, lookups)
        while (batch := batches.get()) is not None:
            yield batch
        return
    # fork: the children inherit the configured Django and never touch the database.
    context = mp.get_context("fork")
    plans, batches = context.Queue(maxsize=4), context.Queue(maxsize=4)
    connection.close()
    children = [
        context.Process(target=_generate, args=(plans, count, seed, now, codes), daemon=True),
        context.Process(target=_convert, args=(plans, batches, lookups), daemon=True),
    ]
    for child in children:
        child.start()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Benchmark data: a large page cache for the index B-trees, no fsync per batch
            # (a crash means generating again).
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute("PRAGMA synchronous = OFF")
    try:
        while (batch := batches.get()) is not None:
            yield batch
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()


def _write(model: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL. On SQLite the rows go to a TEMP table by executemany, then into
    the real one in one INSERT … SELECT: FTS5 flushes its pending index at every statement,
    so a row-by-row insert under the search triggers would write one segment per row."""
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        stage = f"temp.bench_stage_{table}"
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS bench_stage_{table} AS "
                       f"SELECT {names} FROM {table} WHERE 0")  # fmt: skip
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {stage} ({names}) VALUES ({marks})", rows)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage}")
        cursor.execute(f"DELETE FROM {stage}")


def _next_id(model: Any) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Customer, Contact, Customer.tags.through, Customer.co_owners.through):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )


def build_dataset(
    *, customers: int, seed: int = DEFAULT_SEED, progress: Progress | None = None
) -> dict[str, Any]:
    """Add `customers` demo customers (with contacts, tags, co-owners) to the database."""
    started = time.monotonic()
    seed_demo(customers=0, seed=seed)
    lookups = {
        "users": {u.username: u.pk for u in User.objects.all()},
        "departments": {d.name: d.pk for d in Department.objects.all()},
        "regions": {r.code: r.pk for r in Region.objects.all()},
        "industries": {i.name: i.pk for i in Industry.objects.all()},
        "tags": {t.name: t.pk for t in Tag.objects.all()},
    }
    taken_codes = set(
        Customer.objects.exclude(credit_code="").values_list("credit_code", flat=True)
    )
    code_column = 1 + CUSTOMER_FIELDS.index("credit_code")
    customer_columns = ["id", *(f.column for f in _Rows(Customer, CUSTOMER_FIELDS).fields)]
    contact_columns = [
        "id",
        "customer_id",
        *(f.column for f in _Rows(Contact, CONTACT_FIELDS).fields),
    ]
    customer_id, contact_id = _next_id(Customer), _next_id(Contact)
    written = contacts_written = 0
    for batch in _batches(customers, seed + customer_id, lookups):
        first = customer_id
        customer_rows = []
        for row, code in zip(batch.customers, batch.credit_codes, strict=True):
            row = (customer_id, *row)
            if code and code in taken_codes:  # unique within a run; an earlier run may clash
                row = (*row[:code_column], "", *row[code_column + 1 :])
            taken_codes.add(code)
            customer_rows.append(row)
            customer_id += 1
        contact_rows = []
        for index, row in batch.contacts:
            contact_rows.append((contact_id, first + index, *row))
            contact_id += 1
        with transaction.atomic():
            _write(Customer, customer_columns, customer_rows)
            _write(Contact, contact_columns, contact_rows)
            _write(Customer.tags.through, ["customer_id", "tag_id"],
                   [(first + i, tag) for i, tag in batch.tags])  # fmt: skip
            _write(Customer.co_owners.through, ["customer_id", "user_id"],
                   [(first + i, user) for i, user in batch.co_owners])  # fmt: skip
        written += len(customer_rows)
        contacts_written += len(contact_rows)
        if progress is not None:
            progress(written, customers)
    _reset_sequences()
    analyse()
    return {
        "customers": written,
        "contacts": contacts_written,
        "seconds": round(time.monotonic() - started, 1),
    }


def analyse() -> None:
    """The archive's upkeep, as production runs it nightly (`sweep --only search`):
    planner statistics (PostgreSQL: what autovacuum does; SQLite: without sqlite_stat1 the
    planner takes `deleted_at IS NULL` for a selective index and sorts the whole archive
    for every list page) and, on SQLite, the FTS5 index merged into one segment (the
    tombstones of customers removed by earlier runs slow every search down)."""
    upkeep()


def remove_customers_after(top: int) -> None:
    """Undo what a benchmark added to the archive (an import): the customers with ids above
    `top` and the rows hanging on them. Plain DELETEs by id range, referencing tables
    first (the ORM's delete would read back every id of a 100,000-row import once per
    related table); the search index follows by its triggers, and on SQLite its FTS5
    tables are merged again (compact_search_index), so that the next round does not read
    or merge the removed customers' tombstones. History rows stay."""
    if not Customer.objects.filter(pk__gt=top).exists():
        return
    meta = Customer._meta
    tables = [
        (relation.through if relation.many_to_many else relation.related_model)._meta
        for relation in meta.related_objects
        if relation.related_model is not Customer
    ] + [field.remote_field.through._meta for field in meta.many_to_many]
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for related in tables:
            for field in related.concrete_fields:
                if field.is_relation and field.related_model is Customer:
                    cursor.execute(
                        f"DELETE FROM {quote(related.db_table)} WHERE {quote(field.column)} > %s",
                        [top],
                    )
        cursor.execute(f"DELETE FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} > %s",
                       [top])  # fmt: skip
    compact_search_index()
