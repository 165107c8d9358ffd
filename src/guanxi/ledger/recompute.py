"""Rebuild the running totals (CustomerBalance) and the monthly sums (CustomerMonth) from
the ledger rows, set-based: a handful of statements whatever the number of customers.

The services keep both up to date entry by entry; this is the consistency check and
repair (and the first half of the credit recompute benchmark): it compares and rewrites
only what drifted, so a consistent ledger costs reads only. It reports how many balance
and monthly rows had drifted. It holds an exclusive lock on the balance table (PostgreSQL;
SQLite serialises writers anyway), so entries recorded meanwhile wait and stay correct.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone


def _month(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('month', {expression}) AS date)"
    return f"date({expression}, 'start of month')"


def _now() -> Any:
    now = timezone.now()
    return now.isoformat() if connection.vendor == "sqlite" else now


TOTALS = """
    SELECT customer_id, SUM(shipped) AS shipped, SUM(paid) AS paid, SUM(orders) AS orders
    FROM (
        SELECT customer_id, amount AS shipped, 0 AS paid, 0 AS orders FROM ledger_shipment
        UNION ALL
        SELECT customer_id, 0, amount, 0 FROM ledger_payment
        UNION ALL
        SELECT customer_id, 0, 0,
               CASE WHEN status = 'open' AND amount > shipped_amount
                    THEN amount - shipped_amount ELSE 0 END
        FROM ledger_order
    ) entries
    GROUP BY customer_id
"""


def _months_sql(where: str = "") -> str:
    """Monthly sums from the rows; a reversal counts in the month of the entry it reverses
    (reversals are few: only they are joined to their original)."""
    month = _month("e.date")
    reversed_month = _month("o.date")
    return f"""
        SELECT customer_id, month, SUM(shipped) AS shipped, SUM(cost) AS cost,
               SUM(quantity) AS quantity, SUM(paid) AS paid
        FROM (
            SELECT e.customer_id, {month} AS month, e.amount AS shipped, e.cost AS cost,
                   e.quantity AS quantity, 0 AS paid
            FROM ledger_shipment e WHERE e.reversal_of_id IS NULL{where}
            UNION ALL
            SELECT e.customer_id, {reversed_month}, e.amount, e.cost, e.quantity, 0
            FROM ledger_shipment e JOIN ledger_shipment o ON o.id = e.reversal_of_id
            WHERE e.reversal_of_id IS NOT NULL{where}
            UNION ALL
            SELECT e.customer_id, {month}, 0, 0, 0, e.amount
            FROM ledger_payment e WHERE e.reversal_of_id IS NULL{where}
            UNION ALL
            SELECT e.customer_id, {reversed_month}, 0, 0, 0, e.amount
            FROM ledger_payment e JOIN ledger_payment o ON o.id = e.reversal_of_id
            WHERE e.reversal_of_id IS NOT NULL{where}
        ) entries
        GROUP BY customer_id, month
    """


@transaction.atomic
def rebuild_balances() -> dict[str, int]:
    """Compare every balance row and monthly sum with the rows and rewrite those that
    drifted (inserting missing ones, zeroing or deleting orphans). Returns the number of
    customers with entries, of drifted balance rows and of drifted monthly rows."""
    now = _now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE ledger_customerbalance IN EXCLUSIVE MODE")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        # The totals are computed once into temporary tables and compared in place.
        cursor.execute("DROP TABLE IF EXISTS ledger_totals")
        cursor.execute(f"CREATE TEMPORARY TABLE ledger_totals AS {TOTALS}")
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
        months = _sync_months(cursor)
    return {"customers": customers, "drift": drift, "months": months}


DIFFERS = """(ABS(m.shipped_amount - t.shipped) > 0.005 OR ABS(m.shipped_cost - t.cost) > 0.005
              OR m.shipped_quantity <> t.quantity OR ABS(m.paid_amount - t.paid) > 0.005)"""


def _sync_months(cursor: Any) -> int:
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
               t.shipped, t.cost, t.quantity, t.paid,
               CASE WHEN t.customer_id IS NULL THEN 'gone'
                    WHEN m.customer_id IS NULL THEN 'missing' ELSE 'differs' END AS state
        FROM ledger_months t
        FULL OUTER JOIN ledger_customermonth m
          ON m.customer_id = t.customer_id AND m.month = t.month
        WHERE t.customer_id IS NULL OR m.customer_id IS NULL OR {DIFFERS}
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
            paid_amount = d.paid
        FROM ledger_month_diff d
        WHERE d.state = 'differs' AND d.customer_id = ledger_customermonth.customer_id
          AND d.month = ledger_customermonth.month
        """
    )
    changed += cursor.rowcount
    cursor.execute(
        """
        INSERT INTO ledger_customermonth
            (customer_id, month, shipped_amount, shipped_cost, shipped_quantity, paid_amount)
        SELECT customer_id, month, shipped, cost, quantity, paid
        FROM ledger_month_diff WHERE state = 'missing'
        """
    )
    changed += cursor.rowcount
    cursor.execute("DROP TABLE ledger_month_diff")
    return changed


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
            " shipped_cost, shipped_quantity, paid_amount) SELECT customer_id, month, shipped,"
            f" cost, quantity, paid FROM ({_months_sql(f' AND e.customer_id IN ({marks})')}) t",
            ids * 4,
        )
