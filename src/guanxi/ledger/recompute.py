"""Rebuild the running totals (CustomerBalance) and the monthly sums (CustomerMonth) from
the ledger rows, set-based: a handful of statements whatever the number of customers.

The services keep both up to date entry by entry; this is the consistency check and
repair (and the first half of the credit recompute benchmark). It reports how many
balance rows had drifted. It holds an exclusive lock on the balance table (PostgreSQL;
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


@transaction.atomic
def rebuild_balances() -> dict[str, int]:
    now = _now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE ledger_customerbalance IN EXCLUSIVE MODE")
        # The totals are computed once into a temporary table and used three times.
        cursor.execute("DROP TABLE IF EXISTS ledger_totals")
        cursor.execute(f"CREATE TEMPORARY TABLE ledger_totals AS {TOTALS}")
        cursor.execute(
            """
            INSERT INTO ledger_customerbalance
                (customer_id, shipped_total, paid_total, balance, open_orders, updated_at)
            SELECT t.customer_id, 0, 0, 0, 0, %s FROM ledger_totals t
            WHERE NOT EXISTS (
                SELECT 1 FROM ledger_customerbalance b WHERE b.customer_id = t.customer_id
            )
            """,
            [now],
        )
        cursor.execute(
            """
            SELECT COUNT(*) FROM ledger_customerbalance b JOIN ledger_totals t
              ON t.customer_id = b.customer_id
            WHERE ABS(b.shipped_total - t.shipped) > 0.005 OR ABS(b.paid_total - t.paid) > 0.005
               OR ABS(b.balance - (t.shipped - t.paid)) > 0.005
               OR ABS(b.open_orders - t.orders) > 0.005
            """
        )
        drift = cursor.fetchone()[0]
        cursor.execute(
            """
            UPDATE ledger_customerbalance
            SET shipped_total = t.shipped, paid_total = t.paid, balance = t.shipped - t.paid,
                open_orders = t.orders, updated_at = %s
            FROM ledger_totals t
            WHERE t.customer_id = ledger_customerbalance.customer_id
            """,
            [now],
        )
        customers = cursor.rowcount
        cursor.execute("DROP TABLE ledger_totals")
        cursor.execute("DELETE FROM ledger_customermonth")
        cursor.execute(
            f"""
            INSERT INTO ledger_customermonth
                (customer_id, month, shipped_amount, shipped_cost, shipped_quantity, paid_amount)
            SELECT customer_id, month, SUM(shipped), SUM(cost), SUM(quantity), SUM(paid)
            FROM (
                SELECT e.customer_id, {_month("COALESCE(o.date, e.date)")} AS month,
                       e.amount AS shipped, e.cost AS cost, e.quantity AS quantity, 0 AS paid
                FROM ledger_shipment e LEFT JOIN ledger_shipment o ON o.id = e.reversal_of_id
                UNION ALL
                SELECT e.customer_id, {_month("COALESCE(o.date, e.date)")}, 0, 0, 0, e.amount
                FROM ledger_payment e LEFT JOIN ledger_payment o ON o.id = e.reversal_of_id
            ) entries
            GROUP BY customer_id, month
            """
        )
        months = cursor.rowcount
    return {"customers": customers, "drift": drift, "months": months}
