"""The credit rules as plain functions: gather a customer's inputs (set-based, for one or a
million customers), rate them (credit.rating_rules → credit.levels) and suggest a limit
(credit.limit_formula). Each result carries the lines that explain it."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from guanxi import policy
from guanxi.ledger import analytics
from guanxi.ledger.models import ZERO, CustomerBalance, CustomerTerms
from guanxi.ledger.selectors import sales_figures

Customers = list[int] | range | None


@dataclass(frozen=True)
class Inputs:
    """What the rules read, as of a day."""

    annual_sales: Decimal = ZERO
    monthly_sales: Decimal = ZERO
    terms_days: int = 0
    on_time_share: Decimal | None = None
    avg_days_late: Decimal = Decimal("0.0")
    overdue: Decimal = ZERO
    balance: Decimal = ZERO

    @property
    def overdue_share(self) -> Decimal:
        if self.balance <= 0:
            return Decimal("0")
        return (self.overdue / self.balance).quantize(Decimal("0.0001"))

    def as_json(self) -> dict[str, Any]:
        data = {key: (str(v) if v is not None else None) for key, v in asdict(self).items()}
        data["terms_days"] = self.terms_days
        data["overdue_share"] = str(self.overdue_share)
        return data


def gather_inputs(*, customers: Customers, as_of: dt.date) -> dict[int, Inputs]:
    """Inputs for the given customers (ids, an id range, or everyone with ledger rows)."""
    default_terms = policy.get("ledger.default_payment_terms_days")
    ids = list(customers) if isinstance(customers, list) else None
    if isinstance(customers, range):
        sql_customers: Any = customers
        balances = CustomerBalance.objects.filter(
            customer_id__gte=customers.start, customer_id__lt=customers.stop
        )
        terms_rows = CustomerTerms.objects.filter(
            customer_id__gte=customers.start, customer_id__lt=customers.stop
        )
        sales = sales_figures(customer_ids=None, as_of=as_of, id_range=customers)
    else:
        sql_customers = ids
        balances = CustomerBalance.objects.all()
        terms_rows = CustomerTerms.objects.all()
        if ids is not None:
            balances = balances.filter(customer_id__in=ids)
            terms_rows = terms_rows.filter(customer_id__in=ids)
        sales = sales_figures(customer_ids=ids, as_of=as_of)
    balance = dict(balances.values_list("customer_id", "balance"))
    terms = dict(terms_rows.values_list("customer_id", "days"))
    timely = analytics.timeliness(as_of=as_of, customers=sql_customers)
    open_ = analytics.receivables(as_of=as_of, customers=sql_customers)
    wanted = set(ids) if ids is not None else set(balance) | set(sales) | set(timely)
    found = {}
    for customer_id in wanted:
        figures = sales.get(customer_id)
        timeliness = timely.get(customer_id)
        receivable = open_.get(customer_id)
        found[customer_id] = Inputs(
            annual_sales=figures.annual_sales if figures else ZERO,
            monthly_sales=figures.monthly_sales if figures else ZERO,
            terms_days=terms.get(customer_id, default_terms),
            on_time_share=timeliness.on_time_share if timeliness else None,
            avg_days_late=timeliness.avg_days_late if timeliness else Decimal("0.0"),
            overdue=receivable.overdue if receivable else ZERO,
            balance=analytics.to_money(balance.get(customer_id, ZERO)),
        )
    return found


def _yuan(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


_CRITERIA = {
    # key: (label, value getter, formatter, passes(value, threshold))
    "min_annual_sales": (
        "近12个月出货额",
        lambda i: i.annual_sales,
        _yuan,
        lambda v, t: v >= t,
        "≥",
    ),
    "min_monthly_sales": (
        "近3个月月均出货额",
        lambda i: i.monthly_sales,
        _yuan,
        lambda v, t: v >= t,
        "≥",
    ),
    "max_terms_days": (
        "账期",
        lambda i: Decimal(i.terms_days),
        lambda v: f"{v}天",
        lambda v, t: v <= t,
        "≤",
    ),
    "min_on_time_share": (
        "按期回款比例",
        lambda i: i.on_time_share,
        _percent,
        lambda v, t: v is not None and v >= t,
        "≥",
    ),
    "max_avg_days_late": (
        "平均逾期天数",
        lambda i: i.avg_days_late,
        lambda v: f"{v}天",
        lambda v, t: v <= t,
        "≤",
    ),
    "max_overdue_share": (
        "逾期应收占比",
        lambda i: i.overdue_share,
        _percent,
        lambda v, t: v <= t,
        "≤",
    ),
}


@dataclass(frozen=True)
class Rated:
    level: str
    explanation: list[str]


@dataclass(frozen=True)
class RatingPack:
    """The rating policy in force at a moment, read once for a batch of customers."""

    rules: list[dict[str, Any]]
    lowest: str
    labels: dict[str, str]


def rating_pack(*, at: dt.datetime | None = None) -> RatingPack:
    levels = policy.get("credit.levels", at=at)
    return RatingPack(
        rules=policy.get("credit.rating_rules", at=at),
        lowest=levels[-1]["code"],
        labels={entry["code"]: entry["label"] for entry in levels},
    )


def rate(inputs: Inputs, *, at: dt.datetime | None = None, pack: RatingPack | None = None) -> Rated:
    """The best level of credit.rating_rules whose every condition holds; otherwise the
    last (lowest) of credit.levels."""
    pack = pack or rating_pack(at=at)
    rules, labels = pack.rules, pack.labels
    lines = []
    for rule in rules:
        checks, ok = [], True
        for key, (label, getter, fmt, passes, sign) in _CRITERIA.items():
            if key not in rule:
                continue
            threshold = Decimal(str(rule[key]))
            value = getter(inputs)
            good = passes(value, threshold)
            ok = ok and good
            shown = fmt(threshold) if key != "max_terms_days" else f"{threshold}天"
            checks.append(f"{label} {fmt(value)} {sign} {shown} {'✓' if good else '✗'}")
        name = labels.get(rule["level"], rule["level"])
        lines.append(f"{name}：{'；'.join(checks) or '无条件'} → {'符合' if ok else '不符合'}")
        if ok:
            lines.append(f"评定为{name}。")
            return Rated(level=rule["level"], explanation=lines)
    lines.append(f"以上各级条件均不满足，评定为{labels[pack.lowest]}。")
    return Rated(level=pack.lowest, explanation=lines)


@dataclass(frozen=True)
class Suggestion:
    amount: Decimal
    steps: list[str]

    def as_json(self, inputs: Inputs, level: str) -> dict[str, Any]:
        return {"amount": str(self.amount), "level": level, "steps": self.steps,
                "inputs": inputs.as_json()}  # fmt: skip


def suggest_limit(
    inputs: Inputs,
    *,
    level: str,
    at: dt.datetime | None = None,
    formula: dict[str, Any] | None = None,
) -> Suggestion:
    """credit.limit_formula (or `formula`, read once for a batch) applied to the inputs and
    the level (see the rule's help)."""
    formula = formula or policy.get("credit.limit_formula", at=at)
    annual_w = Decimal(str(formula["annual_weight"]))
    monthly_w = Decimal(str(formula["monthly_weight"]))
    buffer = Decimal(str(formula["buffer_months"]))
    factor = Decimal(str(formula["level_factors"].get(level, "0")))
    floor = Decimal(str(formula.get("min_record_factor", "0")))
    round_to = Decimal(str(formula["round_to"]))
    base = annual_w * inputs.annual_sales / Decimal(12) + monthly_w * inputs.monthly_sales
    months = Decimal(inputs.terms_days) / Decimal(30) + buffer
    record = Decimal(1) if inputs.on_time_share is None else max(floor, inputs.on_time_share)
    raw = base * months * factor * record
    amount = (raw / round_to).to_integral_value(rounding=ROUND_FLOOR) * round_to
    amount = max(ZERO, amount).quantize(Decimal("0.01"))
    steps = [
        f"月销售基数 = {annual_w} × {_yuan(inputs.annual_sales)} ÷ 12 + {monthly_w} × "
        f"{_yuan(inputs.monthly_sales)} = {_yuan(base.quantize(Decimal('0.01')))}",
        f"覆盖月数 = 账期 {inputs.terms_days}天 ÷ 30 + {buffer} = {months.quantize(Decimal('0.01'))}",
        f"等级系数（{level}）= {factor}",
        f"付款记录系数 = {record.quantize(Decimal('0.0001'))}"
        + ("（无付款记录）" if inputs.on_time_share is None else f"（按期回款 {_percent(inputs.on_time_share)}，下限 {floor}）"),
        f"建议额度 = {_yuan(raw.quantize(Decimal('0.01')))}，向下取整到 {round_to} 元 = {_yuan(amount)}",
    ]  # fmt: skip
    return Suggestion(amount=amount, steps=steps)
