"""Database upkeep the search and list plans rely on (ADR 0004).

SQLite keeps no planner statistics unless asked. Without them, at a million customers it
reads `deleted_at IS NULL` as a selective index and sorts the whole archive for every list
page (seconds); with them it walks the (updated_at) index and stops after one page.
PostgreSQL's autovacuum keeps its statistics by itself; ANALYZE here is only a nudge.

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
        cursor.execute("ANALYZE")
