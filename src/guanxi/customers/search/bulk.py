"""Indexing a large batch of new customers and contacts together (the import), SQLite.

Row by row, every new customer and live contact runs a trigger writing its search doc
(migration 0006), and every new doc one writing its FTS5 row, its owner row and its
customer's name tokens again (migration 0016): a few statements per row, more than the
customer's own row costs. For a batch, paused() makes these INSERT triggers stand aside
(they fire only while customers_search_paused is empty, migrations 0015 and 0020) while
the batch's customers and contacts are inserted. Before the block ends, index_docs()
writes the batch's docs and the same index rows for them all with one INSERT … SELECT per
table, in the index's key order, each customer's tokens once — or, when the caller has
worked the tokens out (tokens.name_tokens, the import in its second process), those rows
as given, which saves the statement's string work (two thirds of its time). The tests
compare the result with a rebuild from the models (customers.search.tests.test_search).

PostgreSQL needs neither: its INSERT triggers already work per statement (migration
0013). There both functions do nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from django.db import connection

from guanxi.core.rows import staged_insert
from guanxi.customers.search.tokens import names_insert

_PAUSED = "customers_search_paused"
_BATCH = "d.source IN (SELECT value FROM json_each(%(batch)s))"
# The customers of the batch's docs: their token rows are written whole (tokens.py).
_CUSTOMERS = (
    "SELECT DISTINCT customer_id FROM customers_search_doc WHERE source IN "
    "(SELECT value FROM json_each(%(batch)s))"
)

# The docs the paused triggers of customers and contacts write (migration 0020; the same
# rows as theirs of migration 0006), for the batch's customers and contacts (parameters
# `customers`, `contacts`: their ids as JSON), in the docs' key order.
_WRITE_DOCS = """INSERT INTO customers_search_doc (source, customer_id, name, body)
    SELECT 2 * id, id, name, name || char(10) || credit_code || char(10) || phone
    FROM customers_customer WHERE id IN (SELECT value FROM json_each(%(customers)s))
    UNION ALL
    SELECT 2 * id + 1, customer_id, name, name || char(10) || mobile || char(10) || phone
    FROM customers_contact
    WHERE id IN (SELECT value FROM json_each(%(contacts)s)) AND deleted_at IS NULL
    ORDER BY 1"""

# What the paused trigger writes, for every doc of the batch (parameter `batch`: the docs'
# sources as JSON); a customer's token row is written whole, once.
_DOCS = (
    "INSERT INTO customers_search_fts (rowid, body) "
    f"SELECT d.source, d.body FROM customers_search_doc d WHERE {_BATCH} ORDER BY d.source",
    "INSERT OR REPLACE INTO customers_search_doc_owner (source, owner_id) "
    "SELECT d.source, c.owner_id FROM customers_search_doc d "
    f"JOIN customers_customer c ON c.id = d.customer_id WHERE {_BATCH} ORDER BY 1",
)
_NAMES = (
    f"DELETE FROM customers_search_names WHERE customer_id IN ({_CUSTOMERS})",
    names_insert(f"d.customer_id IN ({_CUSTOMERS})"),
)
_DELETE_GIVEN = (
    "DELETE FROM customers_search_names WHERE customer_id IN "
    "(SELECT value FROM json_each(%(customers)s))"
)


# The list pages' version token (migration 0014), which the paused INSERT triggers of
# customers, contacts and tag links would each have replaced.
_BUMP_PAGES = "UPDATE customers_cache_version SET token = random() WHERE name = 'customers:0'"


# Whether this context is inside paused() (index_docs checks: outside, the docs' own
# trigger would index them as well).
_PAUSED_HERE: ContextVar[bool] = ContextVar("guanxi_search_paused", default=False)


def _applies() -> bool:
    return connection.vendor == "sqlite"


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Within (SQLite): new customers and contacts get no search docs and the docs no
    index rows of their own; call index_docs() for every customer and contact inserted
    meanwhile, before the block ends. Only for inserting new rows: a customer renamed
    within would keep its old doc. New customers, contacts and tag links do not replace
    the list pages' version token row by row either (migration 0019): it is replaced
    once, here, in the same transaction.

    Must run inside the caller's transaction: the row that pauses the triggers is added
    and removed in it, so no other connection ever sees it (and a rollback takes it
    away too)."""
    if not _applies():
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("search.bulk.paused() needs a transaction")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_PAUSED} (id) VALUES (1)")
        cursor.execute(_BUMP_PAGES)
    token = _PAUSED_HERE.set(True)
    try:
        yield
    finally:
        _PAUSED_HERE.reset(token)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_PAUSED}")


def wants_tokens() -> bool:
    """Whether index_docs takes token rows worked out by the caller (SQLite)."""
    return _applies()


def index_docs(
    *,
    customer_ids: Iterable[int] = (),
    contact_ids: Iterable[int] = (),
    tokens: dict[int, str] | None = None,
) -> None:
    """The docs and index rows the paused triggers would have written for these new
    customers and contacts (a customer's doc is source 2 × id, a live contact's 2 × id +
    1; deleted contacts have none), inside paused(). `tokens`: customer id →
    tokens.name_tokens of its docs, for every customer the docs belong to; without, the
    SQL works them out."""
    if not _applies():
        return
    if not _PAUSED_HERE.get():
        raise RuntimeError("search.bulk.index_docs() runs inside search.bulk.paused()")
    customer_ids, contact_ids = list(customer_ids), list(contact_ids)
    sources = [2 * pk for pk in customer_ids] + [2 * pk + 1 for pk in contact_ids]
    if not sources:
        return
    batch = json.dumps(sources)
    with connection.cursor() as cursor:
        cursor.execute(
            _WRITE_DOCS,
            {"customers": json.dumps(customer_ids), "contacts": json.dumps(contact_ids)},
        )
        for statement in _DOCS:
            cursor.execute(statement, {"batch": batch})
        if tokens is None:
            for statement in _NAMES:
                cursor.execute(statement, {"batch": batch})
            return
        cursor.execute(_DELETE_GIVEN, {"customers": json.dumps(list(tokens))})
        # Staged and inserted in key order by one statement, so that FTS5 indexes the
        # rows together (core.rows.staged_insert).
        rows = sorted((pk, text) for pk, text in tokens.items() if text)
        staged_insert(cursor, "customers_search_names", ["customer_id", "tokens"], rows)
