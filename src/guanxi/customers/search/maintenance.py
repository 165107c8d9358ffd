"""Database upkeep the search and list plans rely on (ADR 0004).

SQLite keeps no planner statistics unless asked. Without them, at a million customers it
reads `deleted_at IS NULL` as a selective index and sorts the whole archive for every list
page (seconds); with them it walks the (updated_at) index and stops after one page.
PostgreSQL's autovacuum keeps its statistics and visibility map by itself (the covering
indexes of the ledger are read without the table only where the map says a page is all
visible); VACUUM (ANALYZE) here is only a nudge, e.g. after a bulk load.

Call update_statistics() periodically (the worker's timer, daily) and after a large
import. A full ANALYZE takes seconds at a million customers. It must be full: SQLite's
sampled ANALYZE (analysis_limit) saw 2,000 rows of `deleted_at` and concluded that a value
matches 2,000 rows, which brings back the whole-archive sort.
"""

from __future__ import annotations

from django.db import connection


def update_statistics() -> None:
    """Refresh the planner statistics of the current database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 0")
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")
