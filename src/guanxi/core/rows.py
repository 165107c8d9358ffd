"""Writing rows without the ORM's per-object machinery, for hot paths and large batches.

Model.save() and bulk_create() compile the INSERT and prepare every field's value through
its pre_save and get_db_prep_save on each call; these helpers prepare values once per
field kind (text and integers as they are; auto_now / auto_now_add fields one timestamp
per call) and build each statement once per model and database vendor:

- insert_one(obj): one new record, its id read back with RETURNING (what save() does for
  a new plain model: no signals, no parent models) — the ledger's entries and the audit
  log, written on every shipment and payment;
- bulk_insert(model, objs) / insert_rows(model, columns, rows): large batches (the import),
  executemany or a staged INSERT … SELECT on SQLite, COPY on PostgreSQL;
- new_instance(model, values): model(**values) for the batches' unsaved records, without
  Model.__init__'s per-field keyword handling.

Nothing here validates: callers have checked their values as the services do.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, connections, models, router, transaction
from django.db.models.base import ModelState
from django.db.models.fields import NOT_PROVIDED
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

INSERT_BATCH = 1000


def new_instance(model: type[models.Model], values: dict[str, Any]) -> Any:
    """model(**values), the same unsaved instance built faster: every concrete field gets
    its default (a constant default computed once per model, a callable one called per
    instance, as Model.__init__ does), then the given values; a foreign key given as a
    record sets its id and caches the record, and the new record takes its database, as
    the field's descriptor does.

    Anything else Model.__init__ would handle on its own (init signals, a key that is no
    field's name or attname, a related value of the wrong model, a one-to-one or other
    descriptor with side effects) goes through model(**values) instead."""
    plan = _instance_plan(model)
    if plan is None:
        return model(**values)
    constants, per_instance, attnames, relations = plan
    obj = model.__new__(model)
    state = obj._state = ModelState()
    data = obj.__dict__
    data.update(constants)
    for attname, field in per_instance:
        data[attname] = field.get_default()
    cache = state.fields_cache
    for key, value in values.items():
        if key in attnames:
            data[key] = value
            continue
        relation = relations.get(key)
        if relation is None:
            return model(**values)
        attname, related, target = relation
        if value is None:
            data[attname] = None
        elif isinstance(value, related):
            # As the descriptor does: the new record takes the related one's database.
            if state.db is None:
                state.db = router.db_for_write(model, instance=value)
            if value._state.db is None:
                value._state.db = router.db_for_write(value.__class__, instance=obj)
            if not router.allow_relation(value, obj):
                return model(**values)  # Django's own error
            data[attname] = getattr(value, target)
        else:
            return model(**values)  # Django's own error
        cache[key] = value
    return obj


@functools.cache
def _instance_plan(
    model: type[models.Model],
) -> tuple[dict[str, Any], list[tuple[str, Any]], frozenset[str], dict[str, Any]] | None:
    """What new_instance needs of a model, once: constant defaults, fields whose default is
    made per instance, plain attribute names, and foreign keys (name → attname, model, the
    related record's attribute the key holds).
    None when the model needs Model.__init__ (init signals, file or one-to-one fields)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return None
    constants: dict[str, Any] = {}
    per_instance: list[tuple[str, Any]] = []
    attnames: set[str] = set()
    relations: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.column is None or field.generated:
            continue
        if isinstance(field, models.FileField | models.OneToOneField) or (
            field.is_relation and not isinstance(field, models.ForeignKey)
        ):
            return None
        if (field.has_default() and callable(field.default)) or (
            field.db_default is not NOT_PROVIDED
        ):
            per_instance.append((field.attname, field))
        else:
            constants[field.attname] = field.get_default()
        attnames.add(field.attname)
        if isinstance(field, models.ForeignKey):
            relations[field.name] = (
                field.attname,
                field.remote_field.model._meta.concrete_model,
                field.target_field.attname,
            )
    return constants, per_instance, frozenset(attnames), relations


def insert_one(obj: Any) -> Any:
    """INSERT a new record of a plain model (no multi-table inheritance) and set its id,
    as obj.save() would for a new object; returns obj."""
    key = (type(obj), connection.vendor)  # the tests switch databases within one process
    if key not in _INSERT_ONE:
        _INSERT_ONE[key] = _insert_one_sql(type(obj))
    fields, sql = _INSERT_ONE[key]
    row = db_rows(fields, [obj])[0]
    with connection.cursor() as cursor:
        cursor.execute(sql, row)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


_INSERT_ONE: dict[tuple[type, str], tuple[list[Any], str]] = {}


def _insert_one_sql(model: type[models.Model]) -> tuple[list[Any], str]:
    fields = _value_fields(model)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(
        quote(model._meta.db_table),
        ", ".join(quote(_column(f)) for f in fields),
        ", ".join(["%s"] * len(fields)),
        quote(_column(model._meta.pk)),
    )
    return fields, sql


def _value_fields(model: type[models.Model]) -> list[Any]:
    """The model's columns the INSERT gives values for: all but the primary key."""
    return [f for f in model._meta.local_concrete_fields if not f.primary_key]


def _column(field: Any) -> str:
    return str(field.column)


def bulk_insert(model: type[models.Model], objs: list[Any]) -> None:
    """INSERT new records and set their ids, as bulk_create does, for the large batches of
    the import. The values are prepared once per field kind (text and integers as they
    are; auto_now / auto_now_add fields get one timestamp for the batch) instead of
    through every field's pre_save and get_db_prep_save; then insert_rows."""
    if not objs:
        return
    if connection.vendor not in {"sqlite", "postgresql"}:
        model._default_manager.bulk_create(objs, batch_size=INSERT_BATCH)
        return
    fields = _value_fields(model)
    ids = insert_rows(model, [_column(f) for f in fields], db_rows(fields, objs), ids=True)
    alias = connection.alias  # once: every read of `connection` goes through a context-local
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = alias


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
    table, pk = quote(meta.db_table), quote(_column(meta.pk))
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
            staged_insert(cursor, meta.db_table, columns, rows)
        else:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        if ids:
            cursor.execute(f"SELECT {pk} FROM {table} ORDER BY {pk} DESC LIMIT %s", [len(rows)])
            new_ids = sorted(row[0] for row in cursor.fetchall())
    return new_ids


def staged_insert(cursor: Any, table: str, columns: list[str], rows: list[Any]) -> None:
    """SQLite: INSERT rows into `table` through a TEMP table of the same columns and one
    INSERT … SELECT in the rows' order, so that the FTS5 rows its triggers write are
    indexed together (see insert_rows); also for tables that are no model's (the search
    index's token rows)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    stage = quote(f"gx_stage_{table}")
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "
                   f"SELECT {names} FROM {quote(table)} WHERE 0")  # fmt: skip
    cursor.executemany(f"INSERT INTO temp.{stage} ({names}) VALUES ({marks})", rows)
    cursor.execute(f"INSERT INTO {quote(table)} ({names}) "
                   f"SELECT {names} FROM temp.{stage} ORDER BY rowid")  # fmt: skip
    cursor.execute(f"DELETE FROM temp.{stage}")


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


def db_rows(fields: list[Any], objs: list[Any]) -> list[list[Any]]:
    """field.get_db_prep_save(field.pre_save(obj, True)) for every field and object, with
    short cuts: a value the field would pass on unchanged (text as str, integers as int,
    None where the column is nullable) is taken as it is; an auto_now(_add) field gets
    the same prepared timestamp on every object of the batch (set on the objects too,
    as pre_save does)."""
    attnames, checks, stamped = _plan(tuple(fields))
    # The connection itself, not the `connection` proxy, whose every attribute read goes
    # through a context-local (JSON fields read connection.ops once per value).
    db = connections[connection.alias]
    fixed = {}
    if stamped:
        now = timezone.now()
        for index in stamped:
            for obj in objs:
                setattr(obj, attnames[index], now)
            fixed[index] = fields[index].get_db_prep_save(now, db)
    rows = []
    for obj in objs:
        values = obj.__dict__
        row = [values[name] if name in values else getattr(obj, name) for name in attnames]
        for index, plain in checks:
            if row[index].__class__ not in plain:
                db_field = fields[index]
                row[index] = db_field.get_db_prep_save(db_field.pre_save(obj, True), db)
        for index, value in fixed.items():
            row[index] = value
        rows.append(row)
    return rows


@functools.cache
def _plan(
    fields: tuple[Any, ...],
) -> tuple[list[str], list[tuple[int, frozenset[type]]], list[int]]:
    """What db_rows needs to know of the fields, worked out once per field list: their
    attribute names, the value classes each passes on unchanged, and which are stamped
    with the time (auto_now / auto_now_add)."""
    attnames, checks, stamped = [], [], []
    for index, db_field in enumerate(fields):
        attnames.append(db_field.attname)
        if isinstance(db_field, models.DateTimeField) and (
            db_field.auto_now or db_field.auto_now_add
        ):
            stamped.append(index)
            continue
        plain = next((v for k, v in _AS_IS.items() if isinstance(db_field, k)), ())
        checks.append((index, frozenset((*plain, type(None)) if db_field.null else plain)))
    return attnames, checks, stamped


def insert_select_sql(
    model: type[models.Model],
    source: str,
    *,
    computed: tuple[tuple[str, str], ...] = (),
    returning: str = "",
) -> tuple[list[Any], str]:
    """INSERT INTO the model's table (its columns but the primary key) SELECT … FROM
    `source`: one row for each row of `source` — e.g. a part of a WITH whose earlier part
    decides whether the row is written at all. Each value is a parameter cast to its
    column's type, or, for the attribute names in `computed`, the SQL given there (a
    column of `source`). Returns the fields whose values are the parameters, in order
    (db_rows makes them), and the statement."""
    return _insert_select_sql(model, source, computed, returning, connection.vendor)


@functools.cache
def _insert_select_sql(
    model: type[models.Model],
    source: str,
    computed: tuple[tuple[str, str], ...],
    returning: str,
    vendor: str,
) -> tuple[list[Any], str]:
    given = dict(computed)
    quote = connection.ops.quote_name
    fields = _value_fields(model)
    values = [
        given[f.attname] if f.attname in given else f"CAST(%s AS {f.db_type(connection)})"
        for f in fields
    ]
    sql = "INSERT INTO {} ({}) SELECT {} FROM {}".format(
        quote(model._meta.db_table),
        ", ".join(quote(_column(f)) for f in fields),
        ", ".join(values),
        source,
    )
    if returning:
        sql += f" RETURNING {returning}"
    return [f for f in fields if f.attname not in given], sql
