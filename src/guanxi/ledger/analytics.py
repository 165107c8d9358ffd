"""Set-based receivable figures: ageing, overdue and payment timeliness, for one customer or
a million, in one SQL statement each (SQLite ≥ 3.28 and PostgreSQL: CTEs and window
functions). Policy: ledger.ageing_buckets.

Rules (the allocation decision):

- A reversed entry and its reversal cancel out: both are left out once the reversal is
  dated on or before the as-of day. Only full reversals exist.
- Allocation is FIFO by shipment date (then id): everything paid up to the as-of day pays
  the oldest shipments first. What a shipment still has open is
  clamp(cumulative shipped through it − total paid, 0, its amount).
- Ageing (账龄) counts days from the shipment date: bucket "0-30" holds open amounts of
  shipments 0–30 days old, …, "90+" those older than the last boundary.
- Overdue (逾期) is the open amount of shipments whose due date is before the as-of day.
- Timeliness: payments, in date order, settle shipments FIFO; a shipment is settled on the
  date of the payment that brings cumulative payments up to cumulative shipments through
  it. It is on time when settled on or before its due date. A shipment is "decided" once
  settled or overdue; on_time_share = on-time / decided; avg_days_late is the mean
  lateness of the late ones (settled late: settlement − due date; still open and overdue:
  as-of day − due date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from guanxi import policy

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def bucket_keys(boundaries: list[int]) -> list[str]:
    """[30, 60, 90] → ["0-30", "31-60", "61-90", "90+"]."""
    keys, low = [], 0
    for high in boundaries:
        keys.append(f"{low}-{high}")
        low = high + 1
    keys.append(f"{boundaries[-1]}+")
    return keys


@dataclass
class Receivable:
    ageing: dict[str, Decimal]
    overdue: Decimal = ZERO
    open_total: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {"ageing": self.ageing, "overdue": self.overdue, "open_total": self.open_total}


@dataclass
class Timeliness:
    decided: int = 0
    on_time: int = 0
    late: int = 0
    days_late_total: int = 0
    settled_late_days: list[int] = field(default_factory=list, repr=False)

    @property
    def on_time_share(self) -> Decimal | None:
        if not self.decided:
            return None
        return (Decimal(self.on_time) / Decimal(self.decided)).quantize(Decimal("0.0001"))

    @property
    def avg_days_late(self) -> Decimal:
        if not self.late:
            return Decimal("0.0")
        return (Decimal(self.days_late_total) / Decimal(self.late)).quantize(Decimal("0.1"))


def _param(day: dt.date) -> Any:
    return day.isoformat() if connection.vendor == "sqlite" else day


def _days(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


Customers = QuerySet | list[int] | range | None


def _customer_filter(customers: Customers) -> tuple[str, list[Any]]:
    """SQL restricting entries to some customers: a queryset of customers (e.g. a data
    scope), a list of ids, or an id range (batches of a full recompute)."""
    if customers is None:
        return "", []
    if isinstance(customers, range):
        return " AND e.customer_id >= %s AND e.customer_id < %s", [customers.start, customers.stop]
    if isinstance(customers, QuerySet):
        sql, params = customers.values("pk").query.sql_with_params()
        return f" AND e.customer_id IN ({sql})", list(params)
    ids = [int(pk) for pk in customers]
    if not ids:
        return " AND 1 = 0", []
    return f" AND e.customer_id IN ({', '.join(['%s'] * len(ids))})", ids


def _live(table: str, columns: str, as_of: dt.date, where: str, params: list[Any]) -> tuple:
    """Entries in force at the as-of day: not reversals, not reversed by then."""
    sql = f"""
        SELECT {columns} FROM {table} e
        WHERE e.reversal_of_id IS NULL AND e.date <= %s{where}
          AND NOT EXISTS (
            SELECT 1 FROM {table} r WHERE r.reversal_of_id = e.id AND r.date <= %s
          )"""
    return sql, [_param(as_of), *params, _param(as_of)]


def receivables(*, as_of: dt.date, customers: Customers = None) -> dict[int, Receivable]:
    """Open amounts per customer by ageing bucket, overdue and in total, as of a day.
    Customers with nothing open are absent."""
    boundaries = policy.get("ledger.ageing_buckets")
    keys = bucket_keys(boundaries)
    where, where_params = _customer_filter(customers)
    shipments, s_params = _live(
        "ledger_shipment",
        "e.customer_id, e.id, e.date, e.due_date, e.amount, 0 AS kind",
        as_of,
        where,
        where_params,
    )
    payments, p_params = _live(
        "ledger_payment",
        "e.customer_id, e.id, e.date, CAST(NULL AS DATE), e.amount, 1 AS kind",
        as_of,
        where,
        where_params,
    )
    cases, case_params = [], []
    thresholds = [as_of - dt.timedelta(days=b) for b in boundaries]
    lower = None
    for limit in thresholds:
        # age <= b  <=>  date >= as_of - b
        if lower is None:
            cases.append("SUM(CASE WHEN date >= %s THEN open_amount ELSE 0 END)")
            case_params.append(_param(limit))
        else:
            cases.append("SUM(CASE WHEN date >= %s AND date < %s THEN open_amount ELSE 0 END)")
            case_params.extend([_param(limit), _param(lower)])
        lower = limit
    cases.append("SUM(CASE WHEN date < %s THEN open_amount ELSE 0 END)")
    case_params.append(_param(lower))
    # One stream of shipments and payments per customer, so that the total paid comes from
    # a window (no join: SQLite would nest-loop it). Shipments sort first (kind 0), so the
    # running sum over them in (date, id) order is the FIFO cumulative shipped amount.
    sql = f"""
        WITH e AS ({shipments} UNION ALL {payments}),
        c AS (
            SELECT customer_id, kind, date, due_date, amount,
                   SUM(CASE WHEN kind = 0 THEN amount ELSE 0 END) OVER (
                       PARTITION BY customer_id ORDER BY kind, date, id
                       ROWS UNBOUNDED PRECEDING
                   ) AS cum,
                   SUM(CASE WHEN kind = 1 THEN amount ELSE 0 END) OVER (
                       PARTITION BY customer_id
                   ) AS paid
            FROM e
        ),
        o AS (
            SELECT customer_id, date, due_date,
                   CASE WHEN cum - paid <= 0 THEN 0
                        WHEN cum - paid >= amount THEN amount
                        ELSE cum - paid END AS open_amount
            FROM c WHERE kind = 0
        )
        SELECT customer_id, {", ".join(cases)},
               SUM(CASE WHEN due_date < %s THEN open_amount ELSE 0 END),
               SUM(open_amount)
        FROM o WHERE open_amount > 0 GROUP BY customer_id
    """
    params = [*s_params, *p_params, *case_params, _param(as_of)]
    found: dict[int, Receivable] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            ageing = {
                key: to_money(value)
                for key, value in zip(keys, row[1 : 1 + len(keys)], strict=True)
            }
            total = to_money(row[-1])
            if total <= 0:
                continue
            found[row[0]] = Receivable(ageing=ageing, overdue=to_money(row[-2]), open_total=total)
    return found


def empty_receivable() -> Receivable:
    keys = bucket_keys(policy.get("ledger.ageing_buckets"))
    return Receivable(ageing=dict.fromkeys(keys, ZERO))


def timeliness(*, as_of: dt.date, customers: Customers = None) -> dict[int, Timeliness]:
    """On-time share and average days late per customer, as of a day (see module doc)."""
    where, where_params = _customer_filter(customers)
    shipments, s_params = _live(
        "ledger_shipment", "e.id, e.customer_id, e.date, e.due_date, e.amount", as_of, where,
        where_params,
    )  # fmt: skip
    payments, p_params = _live(
        "ledger_payment", "e.id, e.customer_id, e.date, e.amount", as_of, where, where_params
    )
    late_settled = _days("settled", "due_date")
    late_open = _days("%s", "due_date")
    sql = f"""
        WITH s AS ({shipments}),
        p AS ({payments}),
        sc AS (
            SELECT customer_id, id, due_date,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   ) AS cum
            FROM s
        ),
        pc AS (
            SELECT customer_id, date,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   ) AS cum
            FROM p
        ),
        ev AS (
            SELECT customer_id, ROUND(cum, 2) AS k, 0 AS kind, due_date,
                   CAST(NULL AS DATE) AS paid_on
            FROM sc
            UNION ALL
            SELECT customer_id, ROUND(cum, 2) AS k, 1 AS kind, CAST(NULL AS DATE) AS due_date,
                   date AS paid_on
            FROM pc
        ),
        w AS (
            SELECT customer_id, kind, due_date,
                   MIN(paid_on) OVER (
                       PARTITION BY customer_id ORDER BY k, kind
                       ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
                   ) AS settled
            FROM ev
        ),
        d AS (
            SELECT customer_id,
                   CASE WHEN settled IS NOT NULL AND settled <= due_date THEN 1 ELSE 0 END
                       AS on_time,
                   CASE WHEN settled IS NOT NULL AND settled > due_date THEN {late_settled}
                        WHEN settled IS NULL AND due_date < %s THEN {late_open}
                        ELSE NULL END AS days_late,
                   CASE WHEN settled IS NOT NULL OR due_date < %s THEN 1 ELSE 0 END AS decided
            FROM w WHERE kind = 0
        )
        SELECT customer_id, SUM(decided), SUM(on_time),
               SUM(CASE WHEN days_late IS NOT NULL THEN 1 ELSE 0 END),
               COALESCE(SUM(days_late), 0)
        FROM d GROUP BY customer_id
    """
    params = [*s_params, *p_params, _param(as_of), _param(as_of), _param(as_of)]
    found: dict[int, Timeliness] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for customer_id, decided, on_time, late, days in cursor.fetchall():
            found[customer_id] = Timeliness(
                decided=int(decided or 0),
                on_time=int(on_time or 0),
                late=int(late or 0),
                days_late_total=int(days or 0),
            )
    return found
