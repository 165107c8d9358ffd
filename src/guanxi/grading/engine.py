"""The scoring model as plain functions, set-based: gather indicator values for a range of
customers in one grouped query per indicator family, turn values into points, points into a
score and the score into a grade. Policy: grading.model, grading.bands.

Definitions (the decisions of this module; "the month" is the as-of day's month):

- The period ("last year", y1) is the 12 whole months before the month; y0 the 12 months
  before that; y3 the 12 months three years back (months −36..−25).
- order_amount / order_profit: shipped amount / amount − cost in y1 (CustomerMonth).
- collection_rate: paid ÷ shipped in y1 (None without shipments).
- yoy_growth: (y1 − y0) ÷ y0; growth_3y: (y1 − y3) ÷ y3 (None when the base is 0).
- order_count: shipments in y1 (a reversal takes one off).
- receivable_days: receivable balance ÷ (y1 shipped ÷ 365), the days of sales still
  unpaid (应收账款周转天数; CustomerBalance, cheap); None without y1 shipments.
- days_late: average days late of the late shipments, FIFO (ledger.analytics.timeliness);
  None until a shipment is settled or overdue.
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
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.core.errors import ValidationFailed
from guanxi.customers.models import Customer
from guanxi.grading.models import RoleScore
from guanxi.grading.rules import ROLE_SOURCE
from guanxi.ledger import analytics
from guanxi.ledger.models import CustomerBalance, CustomerMonth, Order, Shipment
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
    "order_count": "shipments",
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
Customers = range | list[int]


def _in(qs: QuerySet, customers: Customers, field_name: str = "customer_id") -> QuerySet:
    if isinstance(customers, range):
        return qs.filter(
            **{f"{field_name}__gte": customers.start, f"{field_name}__lt": customers.stop}
        )
    return qs.filter(**{f"{field_name}__in": list(customers)})


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(RATIO, ROUND_HALF_UP)


def _growth(current: Decimal, base: Decimal) -> Decimal | None:
    if base <= 0:
        return None
    return ((current - base) / base).quantize(RATIO, ROUND_HALF_UP)


def _months(customers: Customers, as_of: dt.date) -> dict[int, dict[str, Any]]:
    this_month = month_start(as_of)
    m12, m24, m36 = (add_months(this_month, -n) for n in (12, 24, 36))
    y1 = Q(month__gte=m12, month__lt=this_month)
    rows = (
        _in(CustomerMonth.objects.filter(month__gte=m36, month__lt=this_month), customers)
        .values("customer_id")
        .annotate(
            y1=Sum("shipped_amount", filter=y1),
            cost=Sum("shipped_cost", filter=y1),
            paid=Sum("paid_amount", filter=y1),
            y0=Sum("shipped_amount", filter=Q(month__gte=m24, month__lt=m12)),
            y3=Sum("shipped_amount", filter=Q(month__gte=m36, month__lt=add_months(m36, 12))),
        )
        .values_list("customer_id", "y1", "cost", "paid", "y0", "y3")
    )
    found = {}
    for customer_id, y1_amount, cost, paid, y0, y3 in rows:
        amount = analytics.to_money(y1_amount)
        active = y1_amount is not None and amount != 0
        found[customer_id] = {
            "order_amount": amount if active else None,
            "order_profit": analytics.to_money(amount - analytics.to_money(cost))
            if active
            else None,
            "collection_rate": _ratio(analytics.to_money(paid), amount),
            "yoy_growth": _growth(amount, analytics.to_money(y0)),
            "growth_3y": _growth(amount, analytics.to_money(y3)),
        }
    return found


def _shipments(customers: Customers, as_of: dt.date) -> dict[int, dict[str, Any]]:
    this_month = month_start(as_of)
    rows = (
        _in(
            Shipment.objects.filter(date__gte=add_months(this_month, -12), date__lt=this_month),
            customers,
        )  # fmt: skip
        .values("customer_id")
        .annotate(
            n=Count("id", filter=Q(reversal_of__isnull=True)),
            reversed=Count("id", filter=Q(reversal_of__isnull=False)),
        )
        .values_list("customer_id", "n", "reversed")
    )
    return {pk: {"order_count": max(0, n - r)} for pk, n, r in rows}


def _timeliness(customers: Customers, as_of: dt.date) -> dict[int, dict[str, Any]]:
    found = analytics.timeliness(as_of=as_of, customers=customers)
    return {pk: {"days_late": t.avg_days_late if t.decided else None} for pk, t in found.items()}


def _balances(customers: Customers) -> dict[int, dict[str, Any]]:
    rows = _in(CustomerBalance.objects.all(), customers).values_list("customer_id", "balance")
    return {pk: {"balance": balance} for pk, balance in rows}


def _orders(customers: Customers, as_of: dt.date, days: int) -> dict[int, dict[str, Any]]:
    rows = (
        _in(
            Order.objects.filter(
                status=Order.Status.OPEN, date__lte=as_of - dt.timedelta(days=days)
            ),
            customers,
        )
        .values("customer_id")
        .annotate(total=Sum("amount"), shipped=Sum("shipped_amount"))
        .values_list("customer_id", "total", "shipped")
    )
    return {
        pk: {"stagnant_orders": max(ZERO, analytics.to_money(t) - analytics.to_money(s))}
        for pk, t, s in rows
    }


def _roles(customers: Customers, codes: set[str]) -> dict[int, dict[str, Any]]:
    rows = _in(RoleScore.objects.filter(current=True, indicator__in=codes), customers)
    found: dict[int, dict[str, Any]] = {}
    for pk, indicator, points in rows.values_list("customer_id", "indicator", "points"):
        found.setdefault(pk, {})[f"role:{indicator}"] = points
    return found


def customer_ids(customers: Customers) -> list[int]:
    """The alive customers of a range or list, in id order."""
    return list(
        _in(Customer.objects.alive(), customers, "pk").order_by("pk").values_list("pk", flat=True)
    )


def gather(
    *, pack: Pack, customers: Customers, as_of: dt.date, only: set[str] | None = None
) -> tuple[list[int], dict[int, dict[str, Any]], dict[int, Any]]:
    """(ids, facts per customer, registered capital per customer) for the alive customers
    of `customers`; one grouped query per indicator family the pack uses (or `only`)."""
    ids = customer_ids(customers)
    families = pack.families if only is None else only
    parts = []
    if "months" in families:
        parts.append(_months(customers, as_of))
    if "shipments" in families:
        parts.append(_shipments(customers, as_of))
    if "timeliness" in families:
        parts.append(_timeliness(customers, as_of))
    if "balances" in families:
        parts.append(_balances(customers))
    if "orders" in families:
        parts.append(_orders(customers, as_of, pack.stagnant_order_days))
    if "roles" in families:
        codes = {i.code for i in pack.indicators if i.source == ROLE_SOURCE}
        parts.append(_roles(customers, codes))
    facts: dict[int, dict[str, Any]] = {}
    for part in parts:
        for pk, values in part.items():
            facts.setdefault(pk, {}).update(values)
    capital: dict[int, Any] = {}
    if "archive" in families:
        capital = dict(
            _in(Customer.objects.filter(registered_capital__isnull=False), customers, "pk")
            .values_list("pk", "registered_capital")
        )  # fmt: skip
    return ids, facts, capital


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
def nearest_rank(ordered: list[Any], pct: Decimal) -> Any:
    """The nearest-rank percentile of an ascending list (pct 0 → the smallest)."""
    rank = max(1, math.ceil(float(pct) / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def resolve_percentiles(pack: Pack, population: dict[str, list[Any]]) -> Pack:
    """A copy of the pack whose percentile indicators carry concrete threshold steps, from
    the values of all customers (`population[code]`, None left out)."""
    resolved = []
    for indicator in pack.indicators:
        if indicator.scale != "percentile":
            resolved.append(indicator)
            continue
        ordered = sorted(dec(v) for v in population.get(indicator.code, []) if v is not None)
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


def population(*, pack: Pack, chunks: Iterable[Customers], as_of: dt.date) -> dict[str, list[Any]]:
    """Values of the percentile indicators for all customers (only their families)."""
    wanted = [i for i in pack.indicators if i.scale == "percentile"]
    families = families_of(wanted)
    found: dict[str, list[Any]] = {i.code: [] for i in wanted}
    for chunk in chunks:
        ids, facts, capital = gather(pack=pack, customers=chunk, as_of=as_of, only=families)
        for pk in ids:
            row = facts.get(pk, {})
            for indicator in wanted:
                value = value_of(indicator, row, capital.get(pk))
                if value is not None:
                    found[indicator.code].append(value)
    return found


# --- scoring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scored:
    customer_id: int
    grade: str
    score: Decimal
    values: list[Any]
    points: list[Decimal]


def score_one(pack: Pack, customer_id: int, facts: dict[str, Any], capital: Any) -> Scored:
    values = [value_of(ind, facts, capital) for ind in pack.indicators]
    points = [ind.points_for(v) for ind, v in zip(pack.indicators, values, strict=True)]
    score = sum((pack.contribution(i, p) for i, p in enumerate(points)), ZERO)
    return Scored(customer_id, pack.band_for(score, values), score, values, points)


def score_chunk(
    pack: Pack, ids: list[int], facts: dict[int, dict[str, Any]], capital: dict[int, Any]
) -> Iterator[Scored]:
    empty: dict[str, Any] = {}
    for pk in ids:
        yield score_one(pack, pk, facts.get(pk, empty), capital.get(pk))


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
