"""Set-based receivable figures: ageing, overdue and payment timeliness, for one customer or
a million, in one SQL statement (figures_sql; SQLite ≥ 3.28 and PostgreSQL: window
functions), computed in whole cents so that both databases give exact figures.
Policy: ledger.ageing_buckets.

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
  as-of day − due date). Shares and averages are rounded half up (as the rating in SQL
  does).
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
        return (Decimal(self.on_time) / Decimal(self.decided)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )

    @property
    def avg_days_late(self) -> Decimal:
        if not self.late:
            return Decimal("0.0")
        return (Decimal(self.days_late_total) / Decimal(self.late)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


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


def cents(expression: str) -> str:
    """An amount in whole cents (exact integer arithmetic on both databases: SQLite keeps
    decimals as floating point, so sums and comparisons are done on cents)."""
    return f"CAST(ROUND({expression} * 100) AS BIGINT)"


def _live(table: str, columns: str, as_of: dt.date, where: str, params: list[Any]) -> tuple:
    """Entries in force at the as-of day: not reversals, not reversed by then. A reversal
    belongs to the customer of the entry it reverses, so the reversals looked at are
    restricted to the same customers (one id range of a recompute reads its own rows).
    "IS NOT NULL" spelt out: only reversals can cancel an entry, and with it PostgreSQL
    reads those few rows by the reversal_of index instead of every row of the range."""
    sql = f"""
        SELECT {columns} FROM {table} e
        WHERE e.reversal_of_id IS NULL AND e.date <= %s{where}
          AND NOT EXISTS (
            SELECT 1 FROM {table} r
            WHERE r.reversal_of_id = e.id AND r.reversal_of_id IS NOT NULL
              AND r.date <= %s{where.replace("e.customer_id", "r.customer_id")}
          )"""
    return sql, [_param(as_of), *params, _param(as_of), *params]


def figures_sql(*, as_of: dt.date, customers: Customers = None) -> tuple[str, list[Any], list[str]]:
    """One statement: per customer with live shipments, the timeliness counts and the open
    amounts (in cents) by ageing bucket, overdue and in total, as of a day. Returns the SQL,
    its parameters and the output column names (customer_id, decided, on_time, late,
    days_late, open_total, overdue, age_0 … age_n). The credit rating embeds it.

    Payments and shipments form one stream per customer keyed by their cumulative amounts
    (shipments in date order: FIFO). A shipment's open amount is clamp(cumulative shipped
    through it − total paid, 0, its amount); it is settled on the date of the first payment
    whose cumulative amount reaches its own cumulative amount (ties: the payment settles).
    """
    boundaries = policy.get("ledger.ageing_buckets")
    where, where_params = _customer_filter(customers)
    shipments, s_params = _live(
        "ledger_shipment",
        f"e.customer_id, e.id, e.date, e.due_date, {cents('e.amount')} AS amount",
        as_of, where, where_params,
    )  # fmt: skip
    payments, p_params = _live(
        "ledger_payment", f"e.customer_id, e.id, e.date, {cents('e.amount')} AS amount",
        as_of, where, where_params,
    )  # fmt: skip
    ages, age_params = [], []
    lower = None
    for index, boundary in enumerate(boundaries):
        # age <= b  <=>  date >= as_of - b
        limit = as_of - dt.timedelta(days=boundary)
        if lower is None:
            ages.append(f"SUM(CASE WHEN date >= %s THEN open_amount ELSE 0 END) AS age_{index}")
            age_params.append(_param(limit))
        else:
            ages.append(
                "SUM(CASE WHEN date >= %s AND date < %s THEN open_amount ELSE 0 END)"
                f" AS age_{index}"
            )
            age_params.extend([_param(limit), _param(lower)])
        lower = limit
    ages.append(f"SUM(CASE WHEN date < %s THEN open_amount ELSE 0 END) AS age_{len(boundaries)}")
    age_params.append(_param(lower))
    late_settled = _days("settled", "due_date")
    late_open = _days("%s", "due_date")
    sql = f"""
        WITH ev AS (
            SELECT customer_id, 0 AS kind, date, due_date, amount,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   ) AS k,
                   CAST(NULL AS DATE) AS paid_on
            FROM ({shipments}) s
            UNION ALL
            SELECT customer_id, 1 AS kind, date, CAST(NULL AS DATE), amount,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   ),
                   date
            FROM ({payments}) p
        ),
        w AS (
            SELECT customer_id, kind, date, due_date, amount, k,
                   MIN(paid_on) OVER (
                       PARTITION BY customer_id ORDER BY k, kind
                       ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
                   ) AS settled,
                   MAX(CASE WHEN kind = 1 THEN k ELSE 0 END) OVER (
                       PARTITION BY customer_id
                   ) AS paid
            FROM ev
        ),
        d AS (
            SELECT customer_id, date, due_date, settled,
                   CASE WHEN k - paid <= 0 THEN 0
                        WHEN k - paid >= amount THEN amount
                        ELSE k - paid END AS open_amount
            FROM w WHERE kind = 0
        )
        SELECT customer_id,
               SUM(CASE WHEN settled IS NOT NULL OR due_date < %s THEN 1 ELSE 0 END)
                   AS decided,
               SUM(CASE WHEN settled IS NOT NULL AND settled <= due_date THEN 1 ELSE 0 END)
                   AS on_time,
               SUM(CASE WHEN settled IS NOT NULL AND settled > due_date THEN 1
                        WHEN settled IS NULL AND due_date < %s THEN 1 ELSE 0 END) AS late,
               SUM(CASE WHEN settled IS NOT NULL AND settled > due_date THEN {late_settled}
                        WHEN settled IS NULL AND due_date < %s THEN {late_open}
                        ELSE 0 END) AS days_late,
               SUM(open_amount) AS open_total,
               SUM(CASE WHEN due_date < %s THEN open_amount ELSE 0 END) AS overdue,
               {", ".join(ages)}
        FROM d GROUP BY customer_id
    """
    as_of_p = _param(as_of)
    params = [*s_params, *p_params, as_of_p, as_of_p, as_of_p, as_of_p, as_of_p, *age_params]
    columns = ["customer_id", "decided", "on_time", "late", "days_late", "open_total", "overdue"]
    columns += [f"age_{i}" for i in range(len(boundaries) + 1)]
    return sql, params, columns


def timeliness_sql(
    *, as_of: dt.date, customers: Customers = None
) -> tuple[str, list[Any], list[str]]:
    """The timeliness part of figures_sql alone, for callers that need nothing else (the
    grading's days late): same rules and results, a lighter statement — no open amounts,
    no ageing, one window less, and the settlement date as a running minimum over the
    stream in descending order (the same rows as figures_sql's frame from the current row
    to the end, without a moving frame start). Returns the SQL, its parameters and the
    output column names (customer_id, decided, on_time, late, days_late)."""
    where, where_params = _customer_filter(customers)
    entries = []
    params: list[Any] = []
    for table, columns in (
        (
            "ledger_shipment",
            f"e.customer_id, e.id, e.date, e.due_date, {cents('e.amount')} AS amount",
        ),
        ("ledger_payment", f"e.customer_id, e.id, e.date, {cents('e.amount')} AS amount"),
    ):
        sql, table_params = _live(table, columns, as_of, where, where_params)
        if connection.vendor == "sqlite":
            # SQLite would walk the unique index of reversal_of_id for "IS NULL" (the whole
            # table, row by row, whatever the customers) instead of the covering index in
            # customer and date order (ledger_*_cover_idx), which needs no sort.
            sql = sql.replace("e.reversal_of_id IS NULL", "+e.reversal_of_id IS NULL", 1)
        entries.append(sql)
        params += table_params
    as_of_p = _param(as_of)
    sql = f"""
        WITH ev AS (
            SELECT customer_id, 0 AS kind, due_date, CAST(NULL AS DATE) AS paid_on,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   ) AS k
            FROM ({entries[0]}) s
            UNION ALL
            SELECT customer_id, 1, CAST(NULL AS DATE), date,
                   SUM(amount) OVER (
                       PARTITION BY customer_id ORDER BY date, id ROWS UNBOUNDED PRECEDING
                   )
            FROM ({entries[1]}) p
        ),
        w AS (
            SELECT customer_id, kind, due_date,
                   MIN(paid_on) OVER (
                       PARTITION BY customer_id ORDER BY k DESC, kind DESC
                       ROWS UNBOUNDED PRECEDING
                   ) AS settled
            FROM ev
        )
        SELECT customer_id,
               SUM(CASE WHEN settled IS NOT NULL OR due_date < %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN settled IS NOT NULL AND settled <= due_date THEN 1 ELSE 0 END),
               SUM(CASE WHEN settled > due_date THEN 1
                        WHEN settled IS NULL AND due_date < %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN settled > due_date THEN {_days("settled", "due_date")}
                        WHEN settled IS NULL AND due_date < %s THEN {_days("%s", "due_date")}
                        ELSE 0 END)
        FROM w WHERE kind = 0 GROUP BY customer_id
    """
    params += [as_of_p, as_of_p, as_of_p, as_of_p]
    return sql, params, ["customer_id", "decided", "on_time", "late", "days_late"]


def from_cents(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(CENT)


@dataclass
class Figures:
    receivable: Receivable | None  # None: nothing open
    timeliness: Timeliness


def figures(*, as_of: dt.date, customers: Customers = None) -> dict[int, Figures]:
    """Receivable and timeliness per customer with live shipments, as of a day."""
    keys = bucket_keys(policy.get("ledger.ageing_buckets"))
    sql, params, _columns = figures_sql(as_of=as_of, customers=customers)
    found: dict[int, Figures] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            customer_id, decided, on_time, late, days, open_total, overdue = row[:7]
            receivable = None
            if int(open_total or 0) > 0:
                receivable = Receivable(
                    ageing={key: from_cents(v) for key, v in zip(keys, row[7:], strict=True)},
                    overdue=from_cents(overdue),
                    open_total=from_cents(open_total),
                )
            found[customer_id] = Figures(
                receivable=receivable,
                timeliness=Timeliness(
                    decided=int(decided or 0),
                    on_time=int(on_time or 0),
                    late=int(late or 0),
                    days_late_total=int(days or 0),
                ),
            )
    return found


def receivables(*, as_of: dt.date, customers: Customers = None) -> dict[int, Receivable]:
    """Open amounts per customer by ageing bucket, overdue and in total, as of a day.
    Customers with nothing open are absent."""
    return {
        pk: found.receivable
        for pk, found in figures(as_of=as_of, customers=customers).items()
        if found.receivable is not None
    }


def empty_receivable() -> Receivable:
    keys = bucket_keys(policy.get("ledger.ageing_buckets"))
    return Receivable(ageing=dict.fromkeys(keys, ZERO))


def timeliness(*, as_of: dt.date, customers: Customers = None) -> dict[int, Timeliness]:
    """On-time share and average days late per customer, as of a day (see module doc)."""
    return {pk: found.timeliness for pk, found in figures(as_of=as_of, customers=customers).items()}
