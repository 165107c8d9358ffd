"""The scoring model as plain functions, set-based: read the figures of every customer once,
one statement per indicator family (load → Columns: compact integer columns, money in
cents), resolve the percentiles from those columns, then turn values into points, points
into a score and the score into a grade column by column in integers (Scorer), by id
range. score_one is the same computation for one customer, step by step in Decimals, from
the facts of gather (the per-customer form of the columns). Policy: grading.model,
grading.bands.

Definitions (the decisions of this module; "the month" is the as-of day's month):

- The period ("last year", y1) is the 12 whole months before the month; y0 the 12 months
  before that; y3 the 12 months three years back (months −36..−25).
- order_amount / order_profit: shipped amount / amount − cost in y1 (CustomerMonth).
- collection_rate: paid ÷ shipped in y1 (None without shipments).
- yoy_growth: (y1 − y0) ÷ y0; growth_3y: (y1 − y3) ÷ y3 (None when the base is 0).
- order_count: shipments in y1 (a reversal takes one off, in the month of the shipment it
  reverses, like the amounts; CustomerMonth.shipped_count).
- receivable_days: receivable balance ÷ (y1 shipped ÷ 365), the days of sales still
  unpaid (应收账款周转天数; CustomerBalance, cheap); None without y1 shipments.
- days_late: average days late of the late shipments, FIFO (ledger.analytics.timeliness,
  read through its lighter statement timeliness_sql); None until a shipment is settled or
  overdue.
- stagnant_orders: what open orders dated stagnant_order_days or more before the as-of
  day still have to ship (a negative indicator: use direction "lower").
- registered_capital: the archive's registered capital (万元).
- role: the current RoleScore of the customer for that indicator (0–5).

Points: a value without data (None) scores 0. thresholds: the first step the value reaches
(≥ for direction higher, ≤ for lower). percentile: each step's `pct` is resolved once per
run to the nearest-rank value among all customers with a value, then applied as a
threshold (the resolved steps are kept in the run, so the grade explains itself).
Contribution = points × weight × 20 ÷ Σ weights, rounded to 0.01; the score is the sum of
the contributions (0–100), so the breakdown adds up exactly. The grade is the first band
(grading.bands, highest first) whose `min` the score reaches and whose `require`d indicator
values are all reached.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.core.errors import ValidationFailed
from guanxi.customers.models import Customer
from guanxi.grading.models import RoleScore
from guanxi.grading.rules import ROLE_SOURCE
from guanxi.ledger import analytics
from guanxi.ledger.models import CustomerBalance, CustomerMonth, Order
from guanxi.ledger.periods import add_months, month_start

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
POLICY_KEYS = ("grading.model", "grading.bands", "grading.treatment")

# Which query family feeds each computed source.
FAMILY = {
    "order_amount": "months",
    "order_profit": "months",
    "collection_rate": "months",
    "yoy_growth": "months",
    "growth_3y": "months",
    "order_count": "months",  # CustomerMonth.shipped_count
    "days_late": "timeliness",
    "receivable_days": "months+balances",
    "stagnant_orders": "orders",
    "registered_capital": "archive",
    ROLE_SOURCE: "roles",
}


def dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    group: str
    weight: Decimal
    source: str
    scale: str  # thresholds | percentile | role
    direction: str = "higher"
    steps: tuple[tuple[Decimal, Decimal], ...] = ()  # (bound, points), best first
    pct_steps: tuple[tuple[Decimal, Decimal], ...] = ()  # (pct, points) before resolution
    roles: tuple[str, ...] = ()

    def points_for(self, value: Any) -> Decimal:
        if value is None:
            return ZERO
        if self.scale == "role":
            return dec(value)
        value = dec(value)
        if self.direction == "lower":
            for bound, points in self.steps:
                if value <= bound:
                    return points
        else:
            for bound, points in self.steps:
                if value >= bound:
                    return points
        return ZERO

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "label": self.label,
            "group": self.group,
            "weight": str(self.weight),
            "source": self.source,
            "scale": self.scale,
            "direction": self.direction,
            "steps": [{"value": str(b), "points": str(p)} for b, p in self.steps],
        }
        if self.pct_steps:
            data["pct_steps"] = [{"pct": str(b), "points": str(p)} for b, p in self.pct_steps]
        if self.roles:
            data["roles"] = list(self.roles)
        return data


@dataclass
class Pack:
    """The grading policy in force (or a draft overlaid on it)."""

    version: int
    indicators: list[Indicator]
    bands: list[dict[str, Any]]
    treatment: dict[str, Any]
    stagnant_order_days: int = 90
    _contributions: dict[tuple[int, Decimal], Decimal] = field(default_factory=dict, repr=False)
    _bands: list[tuple[Decimal, list[tuple[int | None, Decimal]], str]] = field(
        default_factory=list, repr=False
    )

    @property
    def total_weight(self) -> Decimal:
        return sum((i.weight for i in self.indicators), ZERO)

    @property
    def families(self) -> set[str]:
        return families_of(self.indicators)

    def contribution(self, index: int, points: Decimal) -> Decimal:
        key = (index, points)
        found = self._contributions.get(key)
        if found is None:
            weight = self.indicators[index].weight
            found = (points * weight * 20 / self.total_weight).quantize(CENT, ROUND_HALF_UP)
            self._contributions[key] = found
        return found

    def band_for(self, score: Decimal, values: list[Any] | None = None) -> str:
        if not self._bands:
            codes = {ind.code: i for i, ind in enumerate(self.indicators)}
            self._bands = [
                (
                    dec(band["min"]),
                    [(codes.get(c), dec(v)) for c, v in (band.get("require") or {}).items()],
                    band["code"],
                )
                for band in self.bands
            ]
        for minimum, require, code in self._bands:
            if score >= minimum and all(_reaches(values, i, limit) for i, limit in require):
                return code
        return self._bands[-1][2]

    def band_label(self, code: str) -> str:
        return next((b["label"] for b in self.bands if b["code"] == code), code)

    def frozen_model(self) -> dict[str, Any]:
        return {
            "indicators": [i.as_json() for i in self.indicators],
            "total_weight": str(self.total_weight),
            "stagnant_order_days": self.stagnant_order_days,
        }


def families_of(indicators: Iterable[Indicator]) -> set[str]:
    return {part for i in indicators for part in FAMILY[i.source].split("+")}


def _reaches(values: list[Any] | None, index: int | None, limit: Decimal) -> bool:
    if values is None or index is None or values[index] is None:
        return False
    return dec(values[index]) >= limit


def _indicator(item: dict[str, Any]) -> Indicator:
    common = {
        "code": item["code"],
        "label": item["label"],
        "group": item.get("group", ""),
        "weight": dec(item["weight"]),
        "source": item["source"],
    }
    if item["source"] == ROLE_SOURCE:
        return Indicator(**common, scale="role", roles=tuple(item["roles"]))
    scale = item["scale"]
    pairs = tuple(
        (dec(s["pct" if scale["type"] == "percentile" else "value"]), dec(s["points"]))
        for s in scale["steps"]
    )
    direction = scale.get("direction", "higher")
    if scale["type"] == "percentile":
        return Indicator(**common, scale="percentile", direction=direction, pct_steps=pairs)
    return Indicator(**common, scale="thresholds", direction=direction, steps=pairs)


def pack_from_values(values: dict[str, Any], *, version: int) -> Pack:
    """A Pack from rule values ({"grading.model": …, "grading.bands": …, …})."""
    model = values["grading.model"]
    pack = Pack(
        version=version,
        indicators=[_indicator(item) for item in model["indicators"]],
        bands=values["grading.bands"],
        treatment=values["grading.treatment"],
        stagnant_order_days=model.get("stagnant_order_days", 90),
    )
    known = {i.code for i in pack.indicators}
    for band in pack.bands:
        unknown = set(band.get("require") or {}) - known
        if unknown:
            raise ValidationFailed(
                _("等级 %(band)s 的门槛引用了模型中没有的指标：%(codes)s")
                % {"band": band["code"], "codes": "、".join(sorted(unknown))}
            )
    return pack


def pack_load(*, at: dt.datetime | None = None, draft: dict[str, Any] | None = None) -> Pack:
    """The grading policy in force at `at`; `draft` (rule key → value) overlays it, for the
    what-if simulation of a draft version."""
    values = {key: policy.get(key, at=at) for key in POLICY_KEYS}
    for key, value in (draft or {}).items():
        if key in values:
            values[key] = copy.deepcopy(value)
    version = policy.version_at(at)
    return pack_from_values(values, version=version)


# --- gathering values -------------------------------------------------------------------------
# The figures of every customer are read once per run, one statement per indicator family
# (over all customers, or an id range or list), into compact integer columns: money in cents,
# so a million customers take a few megabytes per figure and no Decimal is made before
# scoring. Customers without rows of a family read as zeros (or NONE: no value).
Customers = range | list[int]
NONE = -(1 << 63)  # no value, in a column
FETCH = 10_000  # rows per fetch
SCALE = {  # decimal places of each source's value (its column holds value × 10**places)
    "order_amount": 2,
    "order_profit": 2,
    "collection_rate": 4,
    "yoy_growth": 4,
    "growth_3y": 4,
    "order_count": 0,
    "receivable_days": 1,
    "days_late": 1,
    "stagnant_orders": 2,
    "registered_capital": 2,
    ROLE_SOURCE: 2,
}


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(RATIO, ROUND_HALF_UP)


def _growth(current: Decimal, base: Decimal) -> Decimal | None:
    if base <= 0:
        return None
    return ((current - base) / base).quantize(RATIO, ROUND_HALF_UP)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator (> 0) rounded half away from zero: exactly what quantizing
    the Decimal quotient with ROUND_HALF_UP gives."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def _text(value: int, places: int) -> str:
    """value × 10**-places as str() of the Decimal with that exponent prints it."""
    if not places:
        return str(value)
    sign, value = ("-", -value) if value < 0 else ("", value)
    whole, part = divmod(value, 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


def _decimal(value: int, places: int) -> Decimal | int:
    return Decimal(value).scaleb(-places) if places else value


class Columns:
    """The raw figures of a set of alive customers, one integer column per figure (array of
    signed 64-bit integers: a customer's sums fit, money columns holding less than 10^14
    yuan a row), indexed by slot: id − the lowest id (ids of other customers in between
    get unused slots), or the position in the list for a sparse list."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.low = ids[0] if ids else 0
        span = ids[-1] - self.low + 1 if ids else 0
        self.positions: dict[int, int] | None = None
        if span <= 2 * len(ids) + 1024:
            self.size = span
            self.alive = bytearray(span)
            for pk in ids:
                self.alive[pk - self.low] = 1
        else:
            self.size = len(ids)
            self.alive = bytearray(b"\x01") * len(ids)
            self.positions = {pk: i for i, pk in enumerate(ids)}
        self.data: dict[str, array[int]] = {}

    def slot(self, pk: int) -> int | None:
        if self.positions is not None:
            return self.positions.get(pk)
        slot = pk - self.low
        return slot if 0 <= slot < self.size else None

    def pk(self, slot: int) -> int:
        return self.ids[slot] if self.positions is not None else self.low + slot

    def column(self, name: str, default: int = 0) -> array[int]:
        found = self.data.get(name)
        if found is None:
            found = self.data[name] = array("q", [default]) * self.size
        return found

    def fill(self, rows: Iterable[tuple[Any, ...]], *names: str, default: int = 0) -> None:
        """Rows (customer id, value per name) into the named columns; customers outside the
        set are skipped."""
        columns = [self.column(name, default) for name in names]
        for pk, *values in rows:
            slot = self.slot(pk)
            if slot is None:
                continue
            for column, value in zip(columns, values, strict=True):
                column[slot] = default if value is None else int(value)

    def windows(self, size: int) -> Iterator[tuple[int, int, range | list[int]]]:
        """Consecutive parts of at most `size` customers: (first slot, slot after the last,
        the customers as an id range or list)."""
        for start in range(0, len(self.ids), size):
            part = self.ids[start : start + size]
            if self.positions is not None:
                yield start, start + len(part), part
            else:
                a, b = part[0] - self.low, part[-1] - self.low + 1
                yield a, b, range(part[0], part[-1] + 1)


def _where(customers: Customers | None, column: str = "customer_id") -> tuple[str, list[Any]]:
    if customers is None:
        return "", []
    if isinstance(customers, range):
        return f" AND {column} >= %s AND {column} < %s", [customers.start, customers.stop]
    ids = [int(pk) for pk in customers]
    if not ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", ids


def _rows(sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of a statement, fetched in batches (a server-side cursor on PostgreSQL)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH):
            yield from batch


@contextmanager
def _reading() -> Iterator[None]:
    """PostgreSQL: one transaction for the reads (server-side cursors need one), planned for
    reading every row (not the first ones fast) with room for the sorts."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        yield


def customer_ids(customers: Customers | None = None) -> list[int]:
    """The alive customers of a range or list (all when None), in id order."""
    where, params = _where(customers, "id")
    sql = f"SELECT id FROM {Customer._meta.db_table} WHERE deleted_at IS NULL{where} ORDER BY id"
    return [row[0] for row in _rows(sql, params)]


APART_FROM = 20_000  # customers from which the timeliness statement runs in a thread


def load(
    *,
    families: set[str],
    customers: Customers | None,
    as_of: dt.date,
    stagnant_order_days: int = 90,
    roles: Iterable[str] = (),
) -> Columns:
    """The figures of the families for the alive customers of `customers` (all when None),
    one statement per family. For everyone outside a transaction, the timeliness statement
    (the longest) runs meanwhile in a thread on its own connection: the database computes
    it on one core while the other reads the rest."""
    apart = customers is None and not connection.in_atomic_block
    with _reading():
        found = Columns(customer_ids(customers))
        joined: Callable[[], None] | None = None
        if "timeliness" in families:
            found.column("days_late", NONE)
            if apart and len(found.ids) >= APART_FROM:
                joined = _apart(lambda: _load_timeliness(found, customers, as_of, reading=True))
            else:
                _load_timeliness(found, customers, as_of)
        try:
            if "months" in families:
                _load_months(found, customers, as_of)
            if "balances" in families:
                where, params = _where(customers)
                found.fill(
                    _rows(
                        f"SELECT customer_id, {analytics.cents('balance')}"
                        f" FROM {CustomerBalance._meta.db_table} WHERE 1 = 1{where}",
                        params,
                    ),
                    "balance",
                )
            if "orders" in families:
                _load_orders(found, customers, as_of, stagnant_order_days)
            if "roles" in families:
                _load_roles(found, customers, set(roles))
            if "archive" in families:
                rows = Customer.objects.filter(registered_capital__isnull=False)
                if customers is not None:
                    rows = _in_ids(rows, customers)
                found.fill(
                    (
                        (pk, int(v.scaleb(2)))
                        for pk, v in rows.values_list("pk", "registered_capital")
                    ),
                    "capital",
                    default=NONE,
                )
        finally:
            if joined is not None:
                joined()
    return found


def _apart(work: Callable[[], None]) -> Callable[[], None]:
    """Start `work` in a thread (with its own database connection, closed at the end);
    returns the function that waits for it and raises its error, if any."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller's join
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=run, name="grading-read", daemon=True)
    thread.start()

    def join() -> None:
        thread.join()
        if errors:
            raise errors[0]

    return join


def _in_ids(qs: QuerySet, customers: Customers) -> QuerySet:
    if isinstance(customers, range):
        return qs.filter(pk__gte=customers.start, pk__lt=customers.stop)
    return qs.filter(pk__in=list(customers))


def _load_months(found: Columns, customers: Customers | None, as_of: dt.date) -> None:
    """Shipped amount, cost, paid amount and shipment count of y1, shipped amount of y0 and
    y3 (CustomerMonth: a dozen rows per customer)."""
    this_month = month_start(as_of)
    m12, m24, m36 = (add_months(this_month, -n) for n in (12, 24, 36))
    p = analytics._param
    cents = analytics.cents
    where, params = _where(customers)
    # SQLite: not the month index row by row but the covering index in customer order
    month = "+month" if connection.vendor == "sqlite" else "month"
    sql = f"""
        SELECT customer_id,
               {cents("SUM(shipped_amount) FILTER (WHERE month >= %s)")},
               {cents("SUM(shipped_cost) FILTER (WHERE month >= %s)")},
               {cents("SUM(paid_amount) FILTER (WHERE month >= %s)")},
               SUM(shipped_count) FILTER (WHERE month >= %s),
               {cents("SUM(shipped_amount) FILTER (WHERE month >= %s AND month < %s)")},
               {cents("SUM(shipped_amount) FILTER (WHERE month < %s)")}
        FROM {CustomerMonth._meta.db_table}
        WHERE {month} >= %s AND {month} < %s{where}
        GROUP BY customer_id
    """
    months = [p(m12)] * 4 + [p(m24), p(m12), p(add_months(m36, 12)), p(m36), p(this_month)]
    found.fill(_rows(sql, months + params), "y1", "cost", "paid", "count", "y0", "y3")


def _load_timeliness(
    found: Columns, customers: Customers | None, as_of: dt.date, *, reading: bool = False
) -> None:
    """Average days late × 10 of the decided customers (ledger.analytics.timeliness_sql).
    `reading`: in a reading transaction of its own (a thread of load)."""
    if reading:
        with _reading():
            _load_timeliness(found, customers, as_of)
        return
    sql, params, _columns = analytics.timeliness_sql(as_of=as_of, customers=customers)
    found.fill(
        (
            (pk, (_half_up(10 * int(days or 0), int(late)) if late else 0) if decided else None)
            for pk, decided, _on_time, late, days in _rows(sql, params)
        ),
        "days_late",
        default=NONE,
    )


def _load_orders(found: Columns, customers: Customers | None, as_of: dt.date, days: int) -> None:
    """What open orders dated `days` or more before the as-of day still have to ship."""
    where, params = _where(customers)
    cents = analytics.cents
    sql = f"""
        SELECT customer_id, {cents("SUM(amount)")} - {cents("SUM(shipped_amount)")}
        FROM {Order._meta.db_table}
        WHERE status = %s AND date <= %s{where}
        GROUP BY customer_id
    """
    cutoff = analytics._param(as_of - dt.timedelta(days=days))
    found.fill(_rows(sql, [Order.Status.OPEN, cutoff, *params]), "stagnant", default=NONE)


def _load_roles(found: Columns, customers: Customers | None, codes: set[str]) -> None:
    if not codes:
        return
    for code in codes:
        found.column(f"role:{code}", NONE)
    where, params = _where(customers)
    marks = ", ".join(["%s"] * len(codes))
    sql = f"""
        SELECT customer_id, indicator, {analytics.cents("points")}
        FROM {RoleScore._meta.db_table}
        WHERE "current" = %s AND indicator IN ({marks}){where}
    """
    for pk, code, points in _rows(sql, [True, *sorted(codes), *params]):
        slot = found.slot(pk)
        if slot is not None:
            found.data[f"role:{code}"][slot] = int(points)


def source_values(
    indicator: Indicator, found: Columns, start: int = 0, stop: int | None = None
) -> list[int | None]:
    """The indicator's values for the slots start…stop, as integers at SCALE[source]
    (None: no value), by the definitions in the module doc."""
    stop = found.size if stop is None else stop
    source = indicator.source

    def col(name: str, default: int = 0) -> array[int]:
        return found.column(name, default)[start:stop]

    if source == "order_amount":
        return [y or None for y in col("y1")]
    if source == "order_profit":
        return [(y - c) if y else None for y, c in zip(col("y1"), col("cost"), strict=True)]
    if source == "collection_rate":
        pairs = zip(col("paid"), col("y1"), strict=True)
        return [_half_up(p * 10_000, y) if y > 0 else None for p, y in pairs]
    if source in ("yoy_growth", "growth_3y"):
        pairs = zip(col("y1"), col("y0" if source == "yoy_growth" else "y3"), strict=True)
        return [_half_up((y - b) * 10_000, b) if b > 0 else None for y, b in pairs]
    if source == "order_count":
        return [n if n > 0 else 0 for n in col("count")]
    if source == "receivable_days":
        pairs = zip(col("balance"), col("y1"), strict=True)
        return [_half_up(max(0, b) * 3650, y) if y > 0 else None for b, y in pairs]
    if source == "stagnant_orders":
        return [s if s > 0 else 0 for s in col("stagnant", NONE)]
    name = {
        "days_late": "days_late",
        "registered_capital": "capital",
        ROLE_SOURCE: f"role:{indicator.code}",
    }[source]
    return [None if v == NONE else v for v in col(name, NONE)]


def value_text(source: str, value: int) -> str:
    """str() of the value as the reference computation (value_of) returns it: a Decimal with
    SCALE[source] places, an int for the shipment count, Decimal 0 without stagnant orders."""
    if source == "stagnant_orders" and value == 0:
        return "0"
    return _text(value, SCALE[source])


def _json_texts(source: str, values: list[int | None]) -> list[str]:
    """value_text in JSON quotes (null for None), column by column (no call per value)."""
    places = SCALE[source]
    if places == 2:
        texts = [
            "null"
            if v is None
            else f'"{v // 100}.{v % 100:02d}"'
            if v >= 0
            else f'"-{-v // 100}.{-v % 100:02d}"'
            for v in values
        ]
    elif places == 4:
        texts = [
            "null"
            if v is None
            else f'"{v // 10_000}.{v % 10_000:04d}"'
            if v >= 0
            else f'"-{-v // 10_000}.{-v % 10_000:04d}"'
            for v in values
        ]
    elif places == 1:
        texts = [
            "null"
            if v is None
            else f'"{v // 10}.{v % 10}"'
            if v >= 0
            else f'"-{-v // 10}.{-v % 10}"'
            for v in values
        ]
    elif places:
        texts = ["null" if v is None else f'"{value_text(source, v)}"' for v in values]
    else:
        texts = ["null" if v is None else f'"{v}"' for v in values]
    if source == "stagnant_orders":
        return ['"0"' if v == 0 else t for v, t in zip(values, texts, strict=True)]
    return texts


def gather(
    *, pack: Pack, customers: Customers, as_of: dt.date, only: set[str] | None = None
) -> tuple[list[int], dict[int, dict[str, Any]], dict[int, Any]]:
    """(ids, facts per customer, registered capital per customer) for the alive customers
    of `customers`, the families the pack uses (or `only`): the per-customer form of
    load(), for value_of and score_one."""
    families = pack.families if only is None else only
    roles = {i.code for i in pack.indicators if i.source == ROLE_SOURCE}
    found = load(
        families=families, customers=customers, as_of=as_of,
        stagnant_order_days=pack.stagnant_order_days, roles=roles,
    )  # fmt: skip
    sources: dict[str, Indicator] = {}
    if "months" in families:
        for source in ("order_amount", "order_profit", "collection_rate", "yoy_growth",
                       "growth_3y", "order_count"):  # fmt: skip
            sources[source] = Indicator(source, "", "", ZERO, source, "thresholds")
    for family, source in (("timeliness", "days_late"), ("orders", "stagnant_orders")):
        if family in families:
            sources[source] = Indicator(source, "", "", ZERO, source, "thresholds")
    for code in roles if "roles" in families else ():
        sources[f"role:{code}"] = Indicator(code, "", "", ZERO, ROLE_SOURCE, "role")
    columns = {key: source_values(ind, found) for key, ind in sources.items()}
    balances = found.data.get("balance")
    capitals = found.data.get("capital")
    facts: dict[int, dict[str, Any]] = {}
    capital: dict[int, Any] = {}
    for pk in found.ids:
        slot = found.slot(pk)
        assert slot is not None
        row: dict[str, Any] = {}
        for key, values in columns.items():
            value = values[slot]
            if value is None:
                continue
            source = sources[key].source
            if source == "stagnant_orders" and value == 0:
                row[key] = ZERO
            else:
                row[key] = _decimal(value, SCALE[source])
        if balances is not None:
            row["balance"] = _decimal(balances[slot], 2)
        facts[pk] = row
        if capitals is not None and capitals[slot] != NONE:
            capital[pk] = _decimal(capitals[slot], 2)
    return found.ids, facts, capital


def value_of(indicator: Indicator, facts: dict[str, Any], capital: Any) -> Any:
    if indicator.source == ROLE_SOURCE:
        return facts.get(f"role:{indicator.code}")
    if indicator.source == "registered_capital":
        return capital
    if indicator.source == "order_count":
        return facts.get("order_count", 0)
    if indicator.source == "receivable_days":
        amount = facts.get("order_amount")
        if amount is None or amount <= 0:
            return None
        balance = max(ZERO, analytics.to_money(facts.get("balance")))
        return (balance * 365 / amount).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if indicator.source == "stagnant_orders":
        return facts.get("stagnant_orders", ZERO)
    return facts.get(indicator.source)


# --- percentiles ------------------------------------------------------------------------------
def nearest_rank(ordered: Sequence[Any], pct: Decimal) -> Any:
    """The nearest-rank percentile of an ascending list (pct 0 → the smallest)."""
    rank = max(1, math.ceil(float(pct) / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def resolve_percentiles(pack: Pack, population: dict[str, list[Any]]) -> Pack:
    """A copy of the pack whose percentile indicators carry concrete threshold steps, from
    the values of all customers (`population[code]`, None left out)."""
    return _resolved(
        pack,
        {
            code: sorted(dec(v) for v in values if v is not None)
            for code, values in population.items()
        },
    )


class _Ranked(Sequence[Decimal]):
    """Ascending integer values of one source, read as the Decimals value_of returns."""

    def __init__(self, values: list[int], source: str) -> None:
        self.values = values
        self.source = source

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: Any) -> Any:
        return Decimal(value_text(self.source, self.values[index]))


def resolve_from(pack: Pack, found: Columns) -> Pack:
    """resolve_percentiles over the alive customers of `found` (loaded with the families of
    the percentile indicators), sorting integers."""
    ordered: dict[str, Sequence[Any]] = {}
    for indicator in pack.indicators:
        if indicator.scale == "percentile":
            values = source_values(indicator, found)
            known = [v for v, alive in zip(values, found.alive, strict=True) if alive]
            ordered[indicator.code] = _Ranked(
                sorted(v for v in known if v is not None), indicator.source
            )
    return _resolved(pack, ordered)


def _resolved(pack: Pack, population: dict[str, Sequence[Any]]) -> Pack:
    resolved = []
    for indicator in pack.indicators:
        if indicator.scale != "percentile":
            resolved.append(indicator)
            continue
        ordered = population.get(indicator.code, [])
        steps: list[tuple[Decimal, Decimal]] = []
        if ordered:
            for pct, points in indicator.pct_steps:
                if indicator.direction == "lower":
                    bound = nearest_rank(ordered, HUNDRED - pct) if pct > 0 else ordered[-1]
                else:
                    bound = nearest_rank(ordered, pct)
                steps.append((bound, points))
        resolved.append(
            Indicator(
                code=indicator.code,
                label=indicator.label,
                group=indicator.group,
                weight=indicator.weight,
                source=indicator.source,
                scale="percentile",
                direction=indicator.direction,
                steps=tuple(steps),
                pct_steps=indicator.pct_steps,
            )
        )
    return Pack(
        version=pack.version,
        indicators=resolved,
        bands=pack.bands,
        treatment=pack.treatment,
        stagnant_order_days=pack.stagnant_order_days,
    )


def needs_population(pack: Pack) -> bool:
    return any(i.scale == "percentile" for i in pack.indicators)


def population_families(pack: Pack) -> set[str]:
    """The families the percentile indicators read."""
    return families_of(i for i in pack.indicators if i.scale == "percentile")


# --- scoring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    customer_id: int
    grade: str
    score: Decimal
    values: list[Any]
    points: list[Decimal]


def score_one(pack: Pack, customer_id: int, facts: dict[str, Any], capital: Any) -> Scored:
    """One customer from its facts (gather): the reference computation, step by step in
    Decimals, that Scorer reproduces on columns."""
    values = [value_of(ind, facts, capital) for ind in pack.indicators]
    points = [ind.points_for(v) for ind, v in zip(pack.indicators, values, strict=True)]
    score = sum((pack.contribution(i, p) for i, p in enumerate(points)), ZERO)
    return Scored(customer_id, pack.band_for(score, values), score, values, points)


def _scaled(value: Decimal, places: int, rounding: str) -> int:
    return int(value.scaleb(places).to_integral_value(rounding=rounding))


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2))


@dataclass
class _Item:
    """One indicator compiled: steps as (threshold at the value's scale, contribution in
    cents, points as JSON text), best first; `ascending` the thresholds sorted for bisect
    when they are monotonic (the usual case), else None."""

    index: int
    source: str
    places: int
    role: bool
    lower: bool
    steps: list[tuple[int, int, str]]
    ascending: list[int] | None


ZERO_POINTS = f'"{ZERO}"'


class Scorer:
    """A pack with resolved percentiles, compiled to score customers from columns (load)
    column by column in integers: the same values, points, scores and grades as score_one
    gives from their facts, as the JSON texts stored in GradeScore."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.items = [self._compile(i, ind) for i, ind in enumerate(pack.indicators)]
        codes = {ind.code: i for i, ind in enumerate(pack.indicators)}
        self.bands: list[tuple[int, list[tuple[int | None, int]], str]] = []
        for band in pack.bands:
            need: list[tuple[int | None, int]] = []
            for code, limit in (band.get("require") or {}).items():
                index = codes.get(code)
                places = 0 if index is None else self.items[index].places
                need.append((index, _scaled(dec(limit), places, ROUND_CEILING)))
            self.bands.append((_scaled(dec(band["min"]), 2, ROUND_CEILING), need, band["code"]))
        self.requires = [i for _min, need, _code in self.bands for i, _limit in need]
        self._roles: dict[tuple[int, int], tuple[int, str]] = {}

    def _compile(self, index: int, indicator: Indicator) -> _Item:
        places = SCALE[indicator.source]
        lower = indicator.direction == "lower"
        steps = [
            (
                _scaled(bound, places, ROUND_FLOOR if lower else ROUND_CEILING),
                _cents(self.pack.contribution(index, points)),
                f'"{points}"',
            )
            for bound, points in indicator.steps
        ]
        thresholds = [t for t, _c, _p in steps]
        monotonic = thresholds == sorted(thresholds, reverse=not lower)
        return _Item(
            index=index,
            source=indicator.source,
            places=places,
            role=indicator.scale == "role",
            lower=lower,
            steps=steps,
            ascending=(thresholds if lower else thresholds[::-1]) if monotonic else None,
        )

    def _step(self, item: _Item, value: int) -> int:
        """The index of the first step the value reaches, len(steps) if none."""
        if item.ascending is not None:
            if item.lower:
                return bisect_left(item.ascending, value)
            return len(item.steps) - bisect_right(item.ascending, value)
        for index, (threshold, _c, _p) in enumerate(item.steps):
            if (value <= threshold) if item.lower else (value >= threshold):
                return index
        return len(item.steps)

    def _role(self, item: _Item, value: int) -> tuple[int, str]:
        key = (item.index, value)
        found = self._roles.get(key)
        if found is None:
            points = Decimal(_text(value, item.places))
            found = (_cents(self.pack.contribution(item.index, points)), f'"{points}"')
            self._roles[key] = found
        return found

    def _columns(
        self, item: _Item, values: list[int | None]
    ) -> tuple[list[int], list[str], list[str]]:
        """Contributions (cents), value texts and points texts of one indicator."""
        texts = _json_texts(item.source, values)
        if item.role:
            scored = [(0, ZERO_POINTS) if v is None else self._role(item, v) for v in values]
            return [c for c, _p in scored], texts, [p for _c, p in scored]
        last = len(item.steps)
        ascending = item.ascending
        if ascending is None:
            picked = [last if v is None else self._step(item, v) for v in values]
        elif item.lower:
            picked = [last if v is None else bisect_left(ascending, v) for v in values]
        else:
            picked = [last if v is None else last - bisect_right(ascending, v) for v in values]
        contributions = [c for _t, c, _p in item.steps] + [0]
        points = [p for _t, _c, p in item.steps] + [ZERO_POINTS]
        return [contributions[i] for i in picked], texts, [points[i] for i in picked]

    def _band(self, total: int, row: tuple[int | None, ...] | None) -> str:
        for minimum, need, code in self.bands:
            if total >= minimum and all(
                i is not None and row is not None and row[i] is not None and row[i] >= limit
                for i, limit in need
            ):
                return code
        return self.bands[-1][2]

    def _grades(self, totals: list[int], values: list[list[int | None]]) -> list[str]:
        if self.requires:
            rows = zip(*values, strict=True)
            return [self._band(t, row) for t, row in zip(totals, rows, strict=True)]
        # minimums strictly decreasing (grading.bands without requirements): the band is
        # the one with the highest minimum reached, the last one below every minimum
        minimums = [m for m, _need, _code in self.bands][::-1]
        if any(a >= b for a, b in itertools.pairwise(minimums)):
            return [self._band(t, None) for t in totals]
        codes = [self.bands[-1][2]] + [code for _m, _need, code in self.bands][::-1]
        return [codes[bisect_right(minimums, t)] for t in totals]

    def score(self, found: Columns, start: int, stop: int) -> list[tuple[int, str, int, str, str]]:
        """(customer id, grade, score in cents, values JSON, points JSON) of the alive
        customers in the slots start…stop."""
        values = [source_values(self.pack.indicators[i.index], found, start, stop)
                  for i in self.items]  # fmt: skip
        contributions, texts, points = [], [], []
        for item, column in zip(self.items, values, strict=True):
            c, t, p = self._columns(item, column)
            contributions.append(c)
            texts.append(t)
            points.append(p)
        totals = list(map(sum, zip(*contributions, strict=True)))
        grades = self._grades(totals, values)
        value_json = map("[{}]".format, map(",".join, zip(*texts, strict=True)))
        points_json = map("[{}]".format, map(",".join, zip(*points, strict=True)))
        slots = range(start, stop)
        ids = slots if found.positions is None else found.ids[start:stop]
        low = found.low if found.positions is None else 0
        alive = found.alive
        return [
            (low + pk, grade, total, v, p)
            for slot, pk, grade, total, v, p in zip(
                slots, ids, grades, totals, value_json, points_json, strict=True
            )
            if alive[slot]
        ]

    def scored(self, found: Columns, start: int, stop: int) -> list[Scored]:
        """score() as Scored objects (values and points as score_one gives them)."""
        found_values = {}
        for item in self.items:
            indicator = self.pack.indicators[item.index]
            found_values[item.index] = source_values(indicator, found, start, stop)
        result = []
        for pk, grade, total, _values, points_json in self.score(found, start, stop):
            offset = found.slot(pk) - start  # type: ignore[operator]
            values = []
            for item in self.items:
                value = found_values[item.index][offset]
                if value is None:
                    values.append(None)
                elif item.source == "stagnant_orders" and value == 0:
                    values.append(ZERO)
                else:
                    values.append(_decimal(value, item.places))
            points = [Decimal(p) for p in json.loads(points_json)]
            result.append(Scored(pk, grade, _decimal(total, 2), values, points))
        return result


def breakdown(model: dict[str, Any], values: list[Any], points: list[Any]) -> list[dict[str, Any]]:
    """The explanation of one stored score: per indicator of the run's frozen model, the raw
    value, points, weight and contribution (the contributions add up to the score)."""
    total = dec(model["total_weight"])
    lines = []
    for item, value, pts in zip(model["indicators"], values, points, strict=True):
        weight, pts = dec(item["weight"]), dec(pts)
        lines.append(
            {
                "indicator": item["code"],
                "label": item["label"],
                "group": item.get("group", ""),
                "value": value,
                "points": pts,
                "weight": weight,
                "contribution": (pts * weight * 20 / total).quantize(CENT, ROUND_HALF_UP),
            }
        )
    return lines
