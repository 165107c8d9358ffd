"""SQLite: the names' one- and two-character index as FTS5 tokens, one row per customer.

Until now the grams of the names were B-tree rows (0006: customers_search_gram, keyed by
gram; 0008: customers_search_viewer_gram, the same once per owner and co-owner). Every new
name added some 30 rows to each, at random places in trees of tens of millions of rows: at
a million customers each row dirtied a page of its own, and the grams and their pages
written at commit were most of an import's cost (docs/benchmarks.md, 2026-12-07).

Now customers_search_names holds one row per customer: its tokens, the same grams as text
(customers.search.tokens, which writes them), and customers_search_name_fts indexes
them with FTS5, which appends each statement's rows as a new segment and merges segments
later, in bulk. The tokens are ASCII (hex, ascii tokenizer, detail=none: only which
customers hold a token). For each character of the customer's name and its live contacts'
names (lower-cased as before):

    b<hex of the gram>        the gram (the character and the next, or chr(31) at the end)
    u<hex of the character>   the character alone (one-character queries)
    o<owner id>b… / o<id>u…   the same, once for the owner
    c<user id>b… / c<id>u…    and once for each co-owner

so everyone's hits and one user's own hits are each one token's list, as the two gram
tables were. The rows are written by the docs' triggers (refreshed whole when a doc, the
owner or a co-owner changes) and set-based by customers.search.bulk for a batch.

PostgreSQL: nothing (its gram tables and triggers stay).
"""

import importlib

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql
from guanxi.customers.search.tokens import names_insert

_NOT_PAUSED = "NOT EXISTS (SELECT 1 FROM customers_search_paused)"
_DOCS = "customers_search_doc d JOIN customers_search_seq s ON s.i <= length(d.name)"


def _refresh(customer: str) -> str:
    """Trigger statements: the token row of one customer, written again."""
    return (
        f"DELETE FROM customers_search_names WHERE customer_id = {customer};\n"
        + names_insert(f"d.customer_id = {customer}")
        + ";"
    )


_DROPPED_TRIGGERS = (
    "customers_search_doc_ai",
    "customers_search_doc_ad",
    "customers_search_viewer_doc_ai",
    "customers_search_viewer_doc_ad",
    "customers_search_viewer_owner_au",
    "customers_search_viewer_co_owner_ai",
    "customers_search_viewer_co_owner_ad",
    "customers_search_viewer_co_owner_au",
)

SQLITE_FORWARD = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _DROPPED_TRIGGERS),
    "DROP TABLE customers_search_gram",
    "DROP TABLE customers_search_viewer_gram",
    """CREATE TABLE customers_search_names (
           customer_id INTEGER PRIMARY KEY,
           tokens TEXT NOT NULL
       )""",
    """CREATE VIRTUAL TABLE customers_search_name_fts USING fts5(
           tokens, content='customers_search_names', content_rowid='customer_id',
           tokenize='ascii', detail='none', columnsize=0
       )""",
    """CREATE TRIGGER customers_search_names_ai AFTER INSERT ON customers_search_names BEGIN
           INSERT INTO customers_search_name_fts (rowid, tokens)
           VALUES (NEW.customer_id, NEW.tokens);
       END""",
    """CREATE TRIGGER customers_search_names_ad AFTER DELETE ON customers_search_names BEGIN
           INSERT INTO customers_search_name_fts (customers_search_name_fts, rowid, tokens)
           VALUES ('delete', OLD.customer_id, OLD.tokens);
       END""",
    """CREATE TRIGGER customers_search_names_au AFTER UPDATE ON customers_search_names BEGIN
           INSERT INTO customers_search_name_fts (customers_search_name_fts, rowid, tokens)
           VALUES ('delete', OLD.customer_id, OLD.tokens);
           INSERT INTO customers_search_name_fts (rowid, tokens)
           VALUES (NEW.customer_id, NEW.tokens);
       END""",
    # docs -> FTS5 body rows, owner rows and the customer's tokens (paused: search.bulk)
    f"""CREATE TRIGGER customers_search_doc_ai AFTER INSERT ON customers_search_doc
       WHEN {_NOT_PAUSED} BEGIN
           INSERT INTO customers_search_fts (rowid, body) VALUES (NEW.source, NEW.body);
           INSERT OR REPLACE INTO customers_search_doc_owner (source, owner_id)
           SELECT NEW.source, owner_id FROM customers_customer WHERE id = NEW.customer_id;
           {_refresh("NEW.customer_id")}
       END""",
    f"""CREATE TRIGGER customers_search_doc_ad AFTER DELETE ON customers_search_doc BEGIN
           INSERT INTO customers_search_fts (customers_search_fts, rowid, body)
           VALUES ('delete', OLD.source, OLD.body);
           DELETE FROM customers_search_doc_owner WHERE source = OLD.source;
           {_refresh("OLD.customer_id")}
       END""",
    # a customer changes hands
    f"""CREATE TRIGGER customers_search_viewer_owner_au
       AFTER UPDATE OF owner_id ON customers_customer
       WHEN OLD.owner_id IS NOT NEW.owner_id
       BEGIN
           UPDATE customers_search_doc_owner SET owner_id = NEW.owner_id
           WHERE source IN (SELECT source FROM customers_search_doc WHERE customer_id = NEW.id);
           {_refresh("NEW.id")}
       END""",
    # co-owners
    f"""CREATE TRIGGER customers_search_viewer_co_owner_ai
       AFTER INSERT ON customers_customer_co_owners BEGIN
           {_refresh("NEW.customer_id")}
       END""",
    f"""CREATE TRIGGER customers_search_viewer_co_owner_ad
       AFTER DELETE ON customers_customer_co_owners BEGIN
           {_refresh("OLD.customer_id")}
       END""",
    f"""CREATE TRIGGER customers_search_viewer_co_owner_au
       AFTER UPDATE OF customer_id, user_id ON customers_customer_co_owners BEGIN
           {_refresh("OLD.customer_id")}
           {_refresh("NEW.customer_id")}
       END""",
    # the customers already there
    names_insert("1"),
]


def _old_statements() -> list[str]:
    """The gram tables and triggers as 0006, 0008 and 0015 left them, refilled."""
    m6 = importlib.import_module("guanxi.customers.migrations.0006_search_index")
    m8 = importlib.import_module("guanxi.customers.migrations.0008_search_viewer_grams")
    m15 = importlib.import_module("guanxi.customers.migrations.0015_search_index_paused")

    def trigger(statements: list[str], name: str) -> str:
        return next(s for s in statements if s.split()[:3] == ["CREATE", "TRIGGER", name])

    gram_table = next(s for s in m6.SQLITE_FORWARD if "TABLE customers_search_gram" in s)
    viewer_table = next(s for s in m8.SQLITE_FORWARD if "TABLE customers_search_viewer_gram" in s)
    fills = [s for s in m8.SQLITE_FORWARD if "INTO customers_search_viewer_gram" in s
             and not s.lstrip().startswith("CREATE")]  # fmt: skip
    return [
        gram_table,
        viewer_table,
        f"""INSERT INTO customers_search_gram (gram, source, customer_id)
            SELECT DISTINCT lower(substr(d.name || char(31), s.i, 2)), d.source, d.customer_id
            FROM {_DOCS} ORDER BY 1, 2""",
        *fills,  # viewer grams from the grams and owners, then the co-owners'
        m15._DOC_AI.format(when=f"WHEN {_NOT_PAUSED} "),
        trigger(m6.SQLITE_FORWARD, "customers_search_doc_ad"),
        m15._VIEWER_DOC_AI_NEW,
        *(
            trigger(m8.SQLITE_FORWARD, name)
            for name in _DROPPED_TRIGGERS
            if name.startswith("customers_search_viewer")
            and name != "customers_search_viewer_doc_ai"
        ),
    ]


SQLITE_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _DROPPED_TRIGGERS),
    "DROP TRIGGER customers_search_names_au",
    "DROP TRIGGER customers_search_names_ad",
    "DROP TRIGGER customers_search_names_ai",
    "DROP TABLE customers_search_name_fts",
    "DROP TABLE customers_search_names",
    *_old_statements(),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0015_search_index_paused"),
    ]

    operations = [
        vendor_sql({"sqlite": SQLITE_FORWARD}, {"sqlite": SQLITE_REVERSE}),
    ]
