"""Rebuild the running totals (CustomerBalance) and the monthly sums (CustomerMonth) from
the ledger rows, set-based: a handful of statements whatever the number of customers.

The services keep both up to date entry by entry; this is the consistency check and
repair (and the first half of the credit recompute benchmark): it compares and rewrites
only what drifted, so a consistent ledger costs reads only. It reports how many balance
and monthly rows had drifted. It holds an exclusive lock on the balance table (PostgreSQL;
SQLite serialises writers anyway), so entries recorded meanwhile wait and stay correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from guanxi.core import batches


def _month(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {expression}) AS date)"
    return f"date({expression}, 'start of month')"


def _now() -> Any:
    now = timezone.now()
    return now.isoformat() if connection.vendor == "sqlite" else now


def _totals_sql(where: str) -> str:
    """Per customer: shipped, paid and open-order totals from the rows (`where` restricts
    each table by customer_id)."""
    return f"""
    SELECT customer_id, SUM(shipped) AS shipped, SUM(paid) AS paid, SUM(orders) AS orders
    FROM (
        SELECT customer_id, amount AS shipped, 0 AS paid, 0 AS orders
        FROM ledger_shipment e WHERE 1 = 1{where}
        UNION ALL
        SELECT customer_id, 0, amount, 0 FROM ledger_payment e WHERE 1 = 1{where}
        UNION ALL
        SELECT customer_id, 0, 0,
               CASE WHEN status = 'open' AND amount > shipped_amount
                    THEN amount - shipped_amount ELSE 0 END
        FROM ledger_order e WHERE 1 = 1{where}
    ) entries
    GROUP BY customer_id
"""


def _months_sql(where: str = "") -> str:
    """Monthly sums from the rows; a reversal counts in the month of the entry it reverses
    and takes one off that month's shipment count (reversals are few: only they are joined
    to their original)."""
    month = _month("e.date")
    reversed_month = _month("o.date")
    return f"""
        SELECT customer_id, month, SUM(shipped) AS shipped, SUM(cost) AS cost,
               SUM(quantity) AS quantity, SUM(count) AS count, SUM(paid) AS paid
        FROM (
            SELECT e.customer_id, {month} AS month, e.amount AS shipped, e.cost AS cost,
                   e.quantity AS quantity, 1 AS count, 0 AS paid
            FROM ledger_shipment e WHERE e.reversal_of_id IS NULL{where}
            UNION ALL
            SELECT e.customer_id, {reversed_month}, e.amount, e.cost, e.quantity, -1, 0
            FROM ledger_shipment e JOIN ledger_shipment o ON o.id = e.reversal_of_id
            WHERE e.reversal_of_id IS NOT NULL{where}
            UNION ALL
            SELECT e.customer_id, {month}, 0, 0, 0, 0, e.amount
            FROM ledger_payment e WHERE e.reversal_of_id IS NULL{where}
            UNION ALL
            SELECT e.customer_id, {reversed_month}, 0, 0, 0, 0, e.amount
            FROM ledger_payment e JOIN ledger_payment o ON o.id = e.reversal_of_id
            WHERE e.reversal_of_id IS NOT NULL{where}
        ) entries
        GROUP BY customer_id, month
    """


RANGE = 50_000
IN_RANGE = " AND e.customer_id >= %s AND e.customer_id < %s"


def rebuild_balances(*, chunk: int = RANGE) -> dict[str, int]:
    """Compare every balance row and monthly sum with the rows and rewrite those that
    drifted (inserting missing ones, zeroing or deleting orphans). Returns the number of
    customers with entries, of drifted balance rows and of drifted monthly rows.

    The comparison reads customer id ranges (the covering ledger indexes give each range
    its rows in order, and its sums fit in memory) on GUANXI_BATCH_WORKERS connections at
    once (core.batches), while this transaction holds the lock on the balance table: no
    entry can be written meanwhile, and the other connections only read. The few rows that
    differ are then rewritten here. Inside a caller's transaction (tests) everything runs
    on this connection."""
    if connection.vendor == "sqlite":
        with transaction.atomic():
            return _rebuild_sqlite()
    if connection.in_atomic_block:
        return _rebuild(chunk=chunk, parallel=False)
    with transaction.atomic():
        return _rebuild(chunk=chunk, parallel=True)


def _rebuild(*, chunk: int, parallel: bool) -> dict[str, int]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE ledger_customerbalance IN EXCLUSIVE MODE")
        bounds = _bounds(cursor)
    if bounds is None:
        return {"customers": 0, "drift": 0, "months": 0}
    low, high = bounds
    ranges = [range(start, min(start + chunk, high + 1)) for start in range(low, high + 1, chunk)]
    work = batches.read_ranges if parallel else batches.run_ranges
    found = work(_differences, ranges)
    customers = sum(part.customers for part in found)
    balances = [row for part in found for row in part.balances]
    months = [row for part in found for row in part.months]
    with connection.cursor() as cursor:
        drift = _fix_balances(cursor, balances)
        changed = _fix_months(cursor, months)
    return {"customers": customers, "drift": drift, "months": changed}


def _rebuild_sqlite() -> dict[str, int]:
    """rebuild_balances on SQLite: the sums go into indexed temporary tables and are compared
    in place (SQLite would evaluate a grouped subquery again for every row of a join)."""
    now = _now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            pass
        # The totals are computed once into temporary tables and compared in place.
        cursor.execute("DROP TABLE IF EXISTS ledger_totals")
        cursor.execute(f"CREATE TEMPORARY TABLE ledger_totals AS {_totals_sql('')}")
        cursor.execute("CREATE UNIQUE INDEX ledger_totals_key ON ledger_totals (customer_id)")
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE ledger_totals")  # plans for the joins below
        cursor.execute("SELECT COUNT(*) FROM ledger_totals")
        customers = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO ledger_customerbalance
                (customer_id, shipped_total, paid_total, balance, open_orders, updated_at)
            SELECT t.customer_id, 0, 0, 0, 0, %s FROM ledger_totals t WHERE 1 = 1
            ON CONFLICT (customer_id) DO NOTHING
            """,
            [now],
        )
        cursor.execute(
            """
            UPDATE ledger_customerbalance
            SET shipped_total = t.shipped, paid_total = t.paid, balance = t.shipped - t.paid,
                open_orders = t.orders, updated_at = %s
            FROM ledger_totals t
            WHERE t.customer_id = ledger_customerbalance.customer_id
              AND (ABS(ledger_customerbalance.shipped_total - t.shipped) > 0.005
                   OR ABS(ledger_customerbalance.paid_total - t.paid) > 0.005
                   OR ABS(ledger_customerbalance.balance - (t.shipped - t.paid)) > 0.005
                   OR ABS(ledger_customerbalance.open_orders - t.orders) > 0.005)
            """,
            [now],
        )
        drift = cursor.rowcount
        # a balance row whose entries are all gone (moved away by a customer merge)
        cursor.execute(
            """
            UPDATE ledger_customerbalance
            SET shipped_total = 0, paid_total = 0, balance = 0, open_orders = 0, updated_at = %s
            WHERE (shipped_total <> 0 OR paid_total <> 0 OR balance <> 0 OR open_orders <> 0)
              AND NOT EXISTS (
                SELECT 1 FROM ledger_totals t
                WHERE t.customer_id = ledger_customerbalance.customer_id
              )
            """,
            [now],
        )
        drift += cursor.rowcount
        cursor.execute("DROP TABLE ledger_totals")
        months = _sync_months_sqlite(cursor)
    return {"customers": customers, "drift": drift, "months": months}


SQLITE_DIFFERS = """(ABS(m.shipped_amount - t.shipped) > 0.005 OR ABS(m.shipped_cost - t.cost) > 0.005
              OR m.shipped_quantity <> t.quantity OR m.shipped_count <> t.count
              OR ABS(m.paid_amount - t.paid) > 0.005)"""


def _sync_months_sqlite(cursor: Any) -> int:
    """Make ledger_customermonth equal to the sums of the rows: one full join finds the
    rows that differ (usually none), then only those are deleted, updated or inserted.
    Returns how many."""
    cursor.execute("DROP TABLE IF EXISTS ledger_month_diff")
    cursor.execute("DROP TABLE IF EXISTS ledger_months")
    # materialised and indexed: SQLite would otherwise loop over the grouped subquery
    cursor.execute(f"CREATE TEMPORARY TABLE ledger_months AS {_months_sql()}")
    cursor.execute("CREATE INDEX ledger_months_key ON ledger_months (customer_id, month)")
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE ledger_months")
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE ledger_month_diff AS
        SELECT COALESCE(t.customer_id, m.customer_id) AS customer_id,
               COALESCE(t.month, m.month) AS month,
               t.shipped, t.cost, t.quantity, t.count, t.paid,
               CASE WHEN t.customer_id IS NULL THEN 'gone'
                    WHEN m.customer_id IS NULL THEN 'missing' ELSE 'differs' END AS state
        FROM ledger_months t
        FULL OUTER JOIN ledger_customermonth m
          ON m.customer_id = t.customer_id AND m.month = t.month
        WHERE t.customer_id IS NULL OR m.customer_id IS NULL OR {SQLITE_DIFFERS}
        """
    )
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE ledger_month_diff")
    cursor.execute("DROP TABLE ledger_months")
    cursor.execute("SELECT COUNT(*) FROM ledger_month_diff")
    if not cursor.fetchone()[0]:
        cursor.execute("DROP TABLE ledger_month_diff")
        return 0
    cursor.execute(
        """
        DELETE FROM ledger_customermonth WHERE EXISTS (
            SELECT 1 FROM ledger_month_diff d
            WHERE d.state = 'gone' AND d.customer_id = ledger_customermonth.customer_id
              AND d.month = ledger_customermonth.month
        )
        """
    )
    changed = cursor.rowcount
    cursor.execute(
        """
        UPDATE ledger_customermonth
        SET shipped_amount = d.shipped, shipped_cost = d.cost, shipped_quantity = d.quantity,
            shipped_count = d.count, paid_amount = d.paid
        FROM ledger_month_diff d
        WHERE d.state = 'differs' AND d.customer_id = ledger_customermonth.customer_id
          AND d.month = ledger_customermonth.month
        """
    )
    changed += cursor.rowcount
    cursor.execute(
        """
        INSERT INTO ledger_customermonth
            (customer_id, month, shipped_amount, shipped_cost, shipped_quantity, shipped_count,
             paid_amount)
        SELECT customer_id, month, shipped, cost, quantity, count, paid
        FROM ledger_month_diff WHERE state = 'missing'
        """
    )
    changed += cursor.rowcount
    cursor.execute("DROP TABLE ledger_month_diff")
    return changed


def _bounds(cursor: Any) -> tuple[int, int] | None:
    tables = ("ledger_shipment", "ledger_payment", "ledger_order", "ledger_customerbalance",
              "ledger_customermonth")  # fmt: skip
    parts = " UNION ALL ".join(
        f"SELECT MIN(customer_id) AS low, MAX(customer_id) AS high FROM {t}" for t in tables
    )
    cursor.execute(f"SELECT MIN(low), MAX(high) FROM ({parts}) b")
    low, high = cursor.fetchone()
    return None if low is None else (int(low), int(high))


@dataclass
class _Found:
    customers: int
    balances: list[tuple[Any, ...]]  # customer, shipped, paid, orders, has a row
    months: list[tuple[Any, ...]]  # customer, month, shipped, cost, quantity, count, paid, state


BALANCE_DIFFERS = """(ABS(b.shipped_total - t.shipped) > 0.005
                      OR ABS(b.paid_total - t.paid) > 0.005
                      OR ABS(b.balance - (t.shipped - t.paid)) > 0.005
                      OR ABS(b.open_orders - t.orders) > 0.005)"""
DIFFERS = """(ABS(m.shipped_amount - t.shipped) > 0.005 OR ABS(m.shipped_cost - t.cost) > 0.005
              OR m.shipped_quantity <> t.quantity OR m.shipped_count <> t.count
              OR ABS(m.paid_amount - t.paid) > 0.005)"""


def _differences(part: range) -> _Found:
    """One id range, read only: its customers with entries, the balance rows and the
    monthly rows that differ from the sums of its rows."""
    bounds = [part.start, part.stop]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("SET work_mem = '64MB'")
        totals, totals_params = _source(cursor, "totals", _totals_sql(IN_RANGE), bounds * 3)
        cursor.execute(
            f"""
            WITH t AS ({totals})
            SELECT -1, 0, 0, 0, 0, COUNT(*) FROM t
            UNION ALL
            SELECT COALESCE(t.customer_id, b.customer_id), COALESCE(t.shipped, 0),
                   COALESCE(t.paid, 0), COALESCE(t.orders, 0),
                   CASE WHEN b.customer_id IS NULL THEN 0 ELSE 1 END,
                   CASE WHEN t.customer_id IS NULL THEN 0 ELSE 1 END
            FROM t
            FULL OUTER JOIN (
                SELECT * FROM ledger_customerbalance e WHERE 1 = 1{IN_RANGE}
            ) b ON b.customer_id = t.customer_id
            WHERE t.customer_id IS NULL OR b.customer_id IS NULL OR {BALANCE_DIFFERS}
            """,
            [*totals_params, *bounds],
        )
        rows = cursor.fetchall()
        customers = int(rows[0][5])  # the first row: how many customers have entries
        balances = [
            (customer_id, shipped, paid, orders, bool(has_row)) if has_entries
            else (customer_id, 0, 0, 0, True)  # entries all gone (merged away): zero it
            for customer_id, shipped, paid, orders, has_row, has_entries in rows[1:]
        ]  # fmt: skip
        sums, sums_params = _source(cursor, "months", _months_sql(IN_RANGE), bounds * 4)
        cursor.execute(
            f"""
            SELECT COALESCE(t.customer_id, m.customer_id), COALESCE(t.month, m.month),
                   t.shipped, t.cost, t.quantity, t.count, t.paid,
                   CASE WHEN t.customer_id IS NULL THEN 'gone'
                        WHEN m.customer_id IS NULL THEN 'missing' ELSE 'differs' END
            FROM ({sums}) t
            FULL OUTER JOIN (
                SELECT * FROM ledger_customermonth e WHERE 1 = 1{IN_RANGE}
            ) m ON m.customer_id = t.customer_id AND m.month = t.month
            WHERE t.customer_id IS NULL OR m.customer_id IS NULL OR {DIFFERS}
            """,
            [*sums_params, *bounds],
        )
        months = cursor.fetchall()
    return _Found(customers=customers, balances=balances, months=months)


def _source(cursor: Any, name: str, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """A grouped subquery to join on, as SQL and parameters. SQLite would evaluate a grouped
    subquery again for every row of the join: there it is materialised into an indexed
    temporary table first."""
    if connection.vendor != "sqlite":
        return sql, params
    table = f"gx_recompute_{name}"
    key = "customer_id, month" if name == "months" else "customer_id"
    cursor.execute(f"DROP TABLE IF EXISTS temp.{table}")
    cursor.execute(f"CREATE TEMP TABLE {table} AS {sql}", params)
    cursor.execute(f"CREATE INDEX temp.{table}_key ON {table} ({key})")
    return f"SELECT * FROM temp.{table}", []


def _fix_balances(cursor: Any, rows: list[tuple[Any, ...]]) -> int:
    """Rewrite the differing balance rows; returns how many held other figures than their
    entries' (a missing row whose entries sum to nothing is created, not counted)."""
    now = _now()
    drift = 0
    missing = [r for r in rows if not r[4]]
    if missing:
        cursor.executemany(
            "INSERT INTO ledger_customerbalance (customer_id, shipped_total, paid_total,"
            " balance, open_orders, updated_at) VALUES (%s, 0, 0, 0, 0, %s)",
            [(r[0], now) for r in missing],
        )
    for customer_id, shipped, paid, orders, _has_row in rows:
        cursor.execute(
            "UPDATE ledger_customerbalance SET shipped_total = %s, paid_total = %s,"
            " balance = %s - %s, open_orders = %s, updated_at = %s WHERE customer_id = %s"
            " AND (ABS(shipped_total - %s) > 0.005 OR ABS(paid_total - %s) > 0.005"
            " OR ABS(balance - (%s - %s)) > 0.005 OR ABS(open_orders - %s) > 0.005)",
            [shipped, paid, shipped, paid, orders, now, customer_id,
             shipped, paid, shipped, paid, orders],
        )  # fmt: skip
        drift += cursor.rowcount
    return drift


def _fix_months(cursor: Any, rows: list[tuple[Any, ...]]) -> int:
    for customer_id, month, shipped, cost, quantity, count, paid, state in rows:
        if state == "gone":
            cursor.execute(
                "DELETE FROM ledger_customermonth WHERE customer_id = %s AND month = %s",
                [customer_id, month],
            )
        elif state == "differs":
            cursor.execute(
                "UPDATE ledger_customermonth SET shipped_amount = %s, shipped_cost = %s,"
                " shipped_quantity = %s, shipped_count = %s, paid_amount = %s"
                " WHERE customer_id = %s AND month = %s",
                [shipped, cost, quantity, count, paid, customer_id, month],
            )
        else:
            cursor.execute(
                "INSERT INTO ledger_customermonth (customer_id, month, shipped_amount,"
                " shipped_cost, shipped_quantity, shipped_count, paid_amount)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [customer_id, month, shipped, cost, quantity, count, paid],
            )
    return len(rows)


@transaction.atomic
def rebuild_customers(customer_ids: list[int]) -> None:
    """Rebuild the balance rows and monthly sums of a few customers from their rows (after
    a customer merge moved entries between them). Lock their balance rows first."""
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    now = _now()
    with connection.cursor() as cursor:
        for pk in ids:  # fixed order: no deadlock with writers
            cursor.execute(
                "INSERT INTO ledger_customerbalance (customer_id, shipped_total, paid_total,"
                " balance, open_orders, updated_at) SELECT %s, 0, 0, 0, 0, %s WHERE NOT EXISTS"
                " (SELECT 1 FROM ledger_customerbalance WHERE customer_id = %s)",
                [pk, now, pk],
            )
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT customer_id FROM ledger_customerbalance WHERE customer_id IN ({marks})"
                " ORDER BY customer_id FOR UPDATE",
                ids,
            )
        where = f" WHERE customer_id IN ({marks})"
        cursor.execute(
            f"""
            SELECT customer_id, SUM(shipped), SUM(paid), SUM(orders)
            FROM (
                SELECT customer_id, amount AS shipped, 0 AS paid, 0 AS orders
                FROM ledger_shipment{where}
                UNION ALL
                SELECT customer_id, 0, amount, 0 FROM ledger_payment{where}
                UNION ALL
                SELECT customer_id, 0, 0,
                       CASE WHEN status = 'open' AND amount > shipped_amount
                            THEN amount - shipped_amount ELSE 0 END
                FROM ledger_order{where}
            ) entries
            GROUP BY customer_id
            """,
            [*ids, *ids, *ids],
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
        for pk in ids:
            shipped, paid, orders = found.get(pk, (0, 0, 0))
            cursor.execute(
                "UPDATE ledger_customerbalance SET shipped_total = %s, paid_total = %s,"
                " balance = %s, open_orders = %s, updated_at = %s WHERE customer_id = %s",
                [shipped or 0, paid or 0, (shipped or 0) - (paid or 0), orders or 0, now, pk],
            )
        cursor.execute(f"DELETE FROM ledger_customermonth WHERE customer_id IN ({marks})", ids)
        cursor.execute(
            "INSERT INTO ledger_customermonth (customer_id, month, shipped_amount,"
            " shipped_cost, shipped_quantity, shipped_count, paid_amount) SELECT customer_id,"
            " month, shipped, cost, quantity, count, paid FROM"
            f" ({_months_sql(f' AND e.customer_id IN ({marks})')}) t",
            ids * 4,
        )
