"""Database upkeep the search and list plans rely on (ADR 0004).

SQLite keeps no planner statistics unless asked. Without them, at a million customers it
reads `deleted_at IS NULL` as a selective index and sorts the whole archive for every list
page (seconds); with them it walks the (updated_at) index and stops after one page.
PostgreSQL's autovacuum keeps its statistics and visibility map by itself (the covering
indexes of the ledger are read without the table only where the map says a page is all
visible); VACUUM (ANALYZE) here is only a nudge, e.g. after a bulk load.

Call upkeep() (both functions below) nightly: `python -m guanxi sweep --only search`.
A large import queues update_statistics() of the tables it fills for the worker
(customers.imports.tasks): a company's first import of its 100,000 customers would
otherwise leave SQLite without statistics until the night. A full ANALYZE takes seconds
at a million customers. It must be full: SQLite's sampled ANALYZE (analysis_limit) saw
2,000 rows of `deleted_at` and concluded that a value matches 2,000 rows, which brings
back the whole-archive sort.

SQLite's FTS5 tables (the trigram docs and the names' tokens) keep every write as a
segment, merged in the background of later writes, and a deleted doc as a tombstone
beside its entries until their segments merge: a query reads them all.
compact_search_index() merges each table into one segment, dropping the tombstones. At a
million customers, after 300,000 imported customers were removed again, it took 14 s and
brought search p95 from 53.5 / 77.0 ms back to 32.7 / 39.7 ms (docs/benchmarks.md,
session 13). PostgreSQL: its GIN indexes' pending lists and dead entries are autovacuum's.
"""

from __future__ import annotations

from django.db import connection

# SQLite's FTS5 tables of the search index (migrations 0006 and 0016).
FTS_TABLES = ("customers_search_fts", "customers_search_name_fts")


def upkeep() -> None:
    """The nightly upkeep: planner statistics, then the FTS5 index compacted (SQLite)."""
    update_statistics()
    compact_search_index()


def update_statistics(tables: tuple[str, ...] = ()) -> None:
    """Refresh the planner statistics of the current database, or of these tables only.
    SQLite: a table's indexes one by one, each ANALYZE a statement (and, outside a
    transaction, a transaction) of its own, so that other writers get in between: at a
    million customers one index takes up to 0.4 s, all of the customers' 1.1 s with the
    pages cached and 21 s from disk, longer than a writer waits for the lock (20 s).
    PostgreSQL: ANALYZE of each table, which does not block writers."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 0")
        if tables:
            for table in tables:
                if connection.vendor != "sqlite":
                    cursor.execute(f"ANALYZE {quote(table)}")
                    continue
                cursor.execute(f"PRAGMA index_list({quote(table)})")
                for index in [row[1] for row in cursor.fetchall()] or [table]:
                    cursor.execute(f"ANALYZE {quote(index)}")
        elif connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def compact_search_index() -> None:
    """SQLite: merge each FTS5 table of the search index into one segment (FTS5's
    'optimize'), without the deleted docs' entries. Holds the write lock while it runs
    (seconds at a million customers): run it when few write, e.g. nightly."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table in FTS_TABLES:
            cursor.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
