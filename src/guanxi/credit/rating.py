"""The credit rules: gather a customer's inputs, rate them (credit.rating_rules →
credit.levels) and suggest a limit (credit.limit_formula). Each result carries the lines
that explain it.

Two forms of the same rating: `rate()` checks the rules one by one in Python and says why
(the explanation shown to users); `inputs_sql()` + `level_sql()` compute the inputs and the
level set-based in the database for one customer or a million (credit.services.
credit_ratings_write). Both read the same figures on the same integer grid (cents, 0.0001
shares, 0.1 days), so they agree at every rule edge (tests/test_rating_set.py); a rating
written set-based is explained on read by rate() over its stored inputs (explain())."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from guanxi import policy
from guanxi.ledger import analytics
from guanxi.ledger.models import ZERO
from guanxi.ledger.periods import add_months, month_start

Customers = list[int] | range | None


@dataclass(frozen=True)
class Inputs:
    """What the rules read, as of a day. Every figure sits on the grid the database computes
    it on (cents, 0.0001 shares, 0.1 days, all rounded half up), so the rule-by-rule check
    in Python and the set-based CASE in SQL (level_sql) compare the very same numbers."""

    annual_sales: Decimal = ZERO
    monthly_sales: Decimal = ZERO
    terms_days: int = 0
    on_time_share: Decimal | None = None
    avg_days_late: Decimal = Decimal("0.0")
    overdue: Decimal = ZERO
    balance: Decimal = ZERO
    ageing: dict[str, Decimal] = field(default_factory=dict, compare=False)

    @property
    def overdue_share(self) -> Decimal:
        if self.balance <= 0:
            return Decimal("0.0000")
        return (self.overdue / self.balance).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    def as_json(self) -> dict[str, Any]:
        data = {
            key: (str(v) if v is not None else None)
            for key, v in asdict(self).items()
            if key != "ageing"
        }
        data["terms_days"] = self.terms_days
        data["overdue_share"] = str(self.overdue_share)
        data["ageing"] = {key: str(value) for key, value in self.ageing.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inputs:
        """The inputs a rating stored (CreditRating.inputs), to explain it again."""

        def dec(key: str, default: str) -> Decimal:
            value = data.get(key)
            return Decimal(str(value)) if value not in (None, "") else Decimal(default)

        share = data.get("on_time_share")
        return cls(
            annual_sales=dec("annual_sales", "0.00"),
            monthly_sales=dec("monthly_sales", "0.00"),
            terms_days=int(data.get("terms_days") or 0),
            on_time_share=Decimal(str(share)) if share not in (None, "") else None,
            avg_days_late=dec("avg_days_late", "0.0"),
            overdue=dec("overdue", "0.00"),
            balance=dec("balance", "0.00"),
            ageing={k: Decimal(str(v)) for k, v in (data.get("ageing") or {}).items()},
        )


# --- the inputs, set-based -------------------------------------------------------------------
# Integer units in SQL: cents, basis points (0.0001), tenths of a day. Rounding half up of
# a non-negative a / b to an integer is (2a + b) / (2b) in integer division.
INPUT_COLUMNS = [
    "customer_id", "annual_c", "monthly_c", "terms_days", "on_time_bp", "late_tenths",
    "overdue_c", "balance_c", "overdue_bp",
]  # fmt: skip


def _int(expression: str) -> str:
    return f"CAST({expression} AS BIGINT)"


def inputs_sql(*, customers: Customers, as_of: dt.date) -> tuple[str, list[Any], list[str]]:
    """One SELECT of the rating inputs per customer, in integer units (INPUT_COLUMNS, then
    age_0 … age_n in cents). `customers`: a list of ids (each one, ledger rows or not) or an
    id range (every live customer in it with a balance row, i.e. with ledger entries)."""
    this_month = month_start(as_of)
    year_from, recent_from = add_months(this_month, -12), add_months(this_month, -3)
    default_terms = int(policy.get("ledger.default_payment_terms_days"))
    fig_sql, fig_params, fig_columns = analytics.figures_sql(as_of=as_of, customers=customers)
    ages = [c for c in fig_columns if c.startswith("age_")]
    date = connection.ops.adapt_datefield_value
    if isinstance(customers, range):
        source = "ledger_customerbalance b JOIN customers_customer c ON c.id = b.customer_id"
        # the range on both tables: each is then read by its index, not scanned whole
        where = (
            "c.deleted_at IS NULL AND c.id >= %s AND c.id < %s"
            " AND b.customer_id >= %s AND b.customer_id < %s"
        )
        driver_params: list[Any] = [customers.start, customers.stop] * 2
        month_filter = " AND customer_id >= %s AND customer_id < %s"
        month_params: list[Any] = [customers.start, customers.stop]
    else:
        ids = [int(pk) for pk in customers or []] or [0]
        marks = ", ".join(["%s"] * len(ids))
        source = "customers_customer c LEFT JOIN ledger_customerbalance b ON b.customer_id = c.id"
        where = f"c.id IN ({marks})"
        driver_params = ids
        month_filter = f" AND customer_id IN ({marks})"
        month_params = ids
    cents = analytics.cents
    on_time, decided = _int("COALESCE(f.on_time, 0)"), _int("COALESCE(f.decided, 0)")
    late, days = _int("COALESCE(f.late, 0)"), _int("COALESCE(f.days_late, 0)")
    overdue = _int("COALESCE(f.overdue, 0)")
    balance = f"COALESCE({cents('b.balance')}, 0)"
    recent = _int("COALESCE(m.recent, 0)")
    sql = f"""
        SELECT c.id AS customer_id,
               {_int("COALESCE(m.annual, 0)")} AS annual_c,
               CASE WHEN {recent} >= 0 THEN (2 * {recent} + 3) / 6
                    ELSE -((3 - 2 * {recent}) / 6) END AS monthly_c,
               COALESCE(t.days, %s) AS terms_days,
               CASE WHEN {decided} > 0
                    THEN (20000 * {on_time} + {decided}) / (2 * {decided}) END AS on_time_bp,
               CASE WHEN {late} > 0 THEN (20 * {days} + {late}) / (2 * {late}) ELSE 0 END
                   AS late_tenths,
               {overdue} AS overdue_c,
               {balance} AS balance_c,
               CASE WHEN {balance} > 0
                    THEN (20000 * {overdue} + {balance}) / (2 * {balance}) ELSE 0 END
                   AS overdue_bp,
               {", ".join(f"{_int(f'COALESCE(f.{a}, 0)')} AS {a}" for a in ages)}
        FROM {source}
        LEFT JOIN ({fig_sql}) f ON f.customer_id = c.id
        LEFT JOIN (
            SELECT customer_id,
                   SUM({cents("shipped_amount")}) AS annual,
                   SUM(CASE WHEN month >= %s THEN {cents("shipped_amount")} ELSE 0 END)
                       AS recent
            FROM ledger_customermonth
            WHERE month >= %s AND month < %s{month_filter}
            GROUP BY customer_id
        ) m ON m.customer_id = c.id
        LEFT JOIN ledger_customerterms t ON t.customer_id = c.id
        WHERE {where}
    """
    params = [
        default_terms,
        *fig_params,
        date(recent_from),
        date(year_from),
        date(this_month),
        *month_params,
        *driver_params,
    ]
    return sql, params, [*INPUT_COLUMNS, *ages]


def _inputs_from_row(row: dict[str, Any], keys: list[str]) -> Inputs:
    def money(value: Any) -> Decimal:
        return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))

    on_time = row["on_time_bp"]
    return Inputs(
        annual_sales=money(row["annual_c"]),
        monthly_sales=money(row["monthly_c"]),
        terms_days=int(row["terms_days"]),
        on_time_share=None
        if on_time is None
        else (Decimal(int(on_time)) / 10000).quantize(Decimal("0.0001")),
        avg_days_late=(Decimal(int(row["late_tenths"])) / 10).quantize(Decimal("0.1")),
        overdue=money(row["overdue_c"]),
        balance=money(row["balance_c"]),
        ageing={key: money(row[f"age_{i}"]) for i, key in enumerate(keys)},
    )


def gather_inputs(*, customers: Customers, as_of: dt.date) -> dict[int, Inputs]:
    """Inputs for the given customers (a list of ids, or an id range: those with ledger
    rows), from the same SELECT the set-based rating uses."""
    if customers is None:
        raise ValueError("gather_inputs needs ids or an id range")
    sql, params, columns = inputs_sql(customers=customers, as_of=as_of)
    keys = analytics.bucket_keys(policy.get("ledger.ageing_buckets"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return {row["customer_id"]: _inputs_from_row(row, keys) for row in rows}


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


# --- the rating, set-based --------------------------------------------------------------------
def _grid(value: Any, scale: int, *, at_least: bool) -> int:
    """A threshold on the integer grid of its figure: v ≥ t ⇔ units ≥ ceil(t·scale) and
    v ≤ t ⇔ units ≤ floor(t·scale) for any v on the grid."""
    scaled = Decimal(str(value)) * scale
    return int(scaled.to_integral_value(rounding=ROUND_CEILING if at_least else ROUND_FLOOR))


# key: (column, scale, at_least) — the SQL twin of _CRITERIA
_SQL_CRITERIA = {
    "min_annual_sales": ("annual_c", 100, True),
    "min_monthly_sales": ("monthly_c", 100, True),
    "max_terms_days": ("terms_days", 1, False),
    "min_on_time_share": ("on_time_bp", 10000, True),
    "max_avg_days_late": ("late_tenths", 10, False),
    "max_overdue_share": ("overdue_bp", 10000, False),
}


def level_sql(pack: RatingPack, *, alias: str = "i") -> str:
    """credit.rating_rules as one SQL CASE over the columns of inputs_sql: the first rule
    (best level) whose every condition holds, else the lowest level. Literals only (ints
    and level codes from the policy), no parameters. The same decision as rate()."""
    whens = []
    for rule in pack.rules:
        conditions = []
        for key, (column, scale, at_least) in _SQL_CRITERIA.items():
            if key not in rule:
                continue
            bound = _grid(rule[key], scale, at_least=at_least)
            sign = ">=" if at_least else "<="
            # a missing on-time share (nothing decided yet) fails a minimum, like rate()
            conditions.append(f"{alias}.{column} {sign} {bound}")
        test = " AND ".join(conditions) or "1 = 1"
        whens.append(f"WHEN {test} THEN {_literal(rule['level'])}")
    if not whens:
        return _literal(pack.lowest)
    return f"CASE {' '.join(whens)} ELSE {_literal(pack.lowest)} END"


def _literal(code: str) -> str:
    return "'" + str(code).replace("'", "''") + "'"


def inputs_json_sql(keys: list[str], *, alias: str = "i") -> str:
    """CreditRating.inputs built in SQL, the same document as Inputs.as_json()."""
    pg = connection.vendor == "postgresql"

    def number(expression: str, places: int) -> str:
        divisor = 10**places
        if pg:
            return f"CAST(CAST({expression} AS NUMERIC) / {divisor} AS NUMERIC(24, {places}))::text"
        return f"printf('%%.{places}f', {expression} / {divisor}.0)"

    obj = "json_build_object" if pg else "json_object"
    ageing = ", ".join(
        f"{_literal(key)}, {number(f'{alias}.age_{i}', 2)}" for i, key in enumerate(keys)
    )
    share = f"CASE WHEN {alias}.on_time_bp IS NULL THEN NULL ELSE {number(f'{alias}.on_time_bp', 4)} END"
    fields = [
        ("annual_sales", number(f"{alias}.annual_c", 2)),
        ("monthly_sales", number(f"{alias}.monthly_c", 2)),
        ("terms_days", f"{alias}.terms_days"),
        ("on_time_share", share),
        ("avg_days_late", number(f"{alias}.late_tenths", 1)),
        ("overdue", number(f"{alias}.overdue_c", 2)),
        ("balance", number(f"{alias}.balance_c", 2)),
        ("overdue_share", number(f"{alias}.overdue_bp", 4)),
        ("ageing", f"{obj}({ageing})"),
    ]
    document = f"{obj}({', '.join(f'{_literal(k)}, {v}' for k, v in fields)})"
    return f"CAST({document} AS JSONB)" if pg else document


def explain(rating: Any) -> list[str]:
    """The rule-by-rule explanation of a stored rating: its stored lines, or (ratings
    written set-based) rate() applied again to its stored inputs with the policy in force
    when it was made."""
    if rating.explanation:
        return list(rating.explanation)
    if not rating.inputs:
        return []
    return rate(Inputs.from_json(rating.inputs), at=rating.rated_at).explanation


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
