"""Hot statements as prepared statements on PostgreSQL.

Django sends every statement as text with its values written in (psycopg's client-side
binding), so PostgreSQL parses and plans it on every call. For the few statements run on
every shipment and payment that costs more than running them: planning the scoped
customer read took ~0.2 ms of server time against 0.04 ms to run it. fetchone() sends
such a statement with server-side binding, prepared once per connection (psycopg keeps
the prepared statements of each connection, keyed by the statement's text and parameter
types); the server then only binds and runs it.

Prepared statements live in the server session, which a transaction-pooling proxy
(PgBouncer before 1.21) does not keep: DB_PREPARED_STATEMENTS=0 turns them off, and the
statements run as any other (settings: OPTIONS["prepare_threshold"]; Django keeps it off
by default, and its own cursors never prepare). On SQLite fetchone() is an ordinary
cursor.execute. Parameters must have types the server can infer from the statement
(cast them where it cannot: CAST(%s AS numeric)).
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection


def fetchone(sql: str, params: list[Any] | tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Run `sql` (a statement run many times with other values) and return its first row."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        if raw is not None and raw.prepare_threshold is not None:
            import psycopg

            started = time.monotonic()
            with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, prepare=True)
                row = cursor.fetchone()
            if connection.queries_logged:  # what Django's debug cursor records
                connection.queries_log.append(
                    {
                        "sql": f"{sql} -- {list(params)!r}",
                        "time": f"{time.monotonic() - started:.3f}",
                    }
                )
            return row
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        first: tuple[Any, ...] | None = cursor.fetchone()
        return first
