"""Demo ledger for `seed-demo`: a year and a half of shipments and payments for the demo
customers, payment terms, price coefficients, approved credit limits (a few customers over
theirs), credit ratings, investigations and an open quarterly proposal round.

    from guanxi.ledger.demo import seed_ledger_demo; seed_ledger_demo()

Deterministic for a seed; dates are laid out back from today. Like the customer demo
writer this is a data generator: history is bulk-written in one transaction (no limit
checks — it is the past), then the running balances and monthly sums are rebuilt
set-based and the credit state is derived through the credit services.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.audit.context import AuditContext, using
from guanxi.credit import rating as rules
from guanxi.credit import services as credit_services
from guanxi.credit.models import CreditLimit, CreditRound
from guanxi.customers.models import Customer
from guanxi.ledger import recompute
from guanxi.ledger.models import CustomerTerms, Payment, PriceCoefficient, Shipment
from guanxi.ledger.periods import add_months, next_quarter, quarter_of
from guanxi.org.models import User

DEFAULT_SEED = 2026
CENT = Decimal("0.01")
# grade → (share of customers who buy, typical order size in yuan, orders per month)
PROFILES = {
    "A": (0.95, (60_000, 300_000), (2, 4)),
    "B": (0.8, (15_000, 90_000), (1, 3)),
    "C": (0.5, (3_000, 25_000), (0, 2)),
}
TERMS = [(30, 5), (45, 2), (60, 2), (90, 1)]
# payer profile → (weight, days paid after the due date (min, max), share of each bill paid)
PAYERS = {
    "prompt": (70, (-10, 3), 1.0),
    "late": (22, (15, 60), 1.0),
    "bad": (8, (45, 150), 0.7),
}
METHODS = [("bank_transfer", 7), ("acceptance_bill", 3), ("online", 1)]


@dataclass
class LedgerDemoSummary:
    customers: int = 0
    shipments: int = 0
    payments: int = 0
    limits: int = 0
    over_limit: int = 0
    ratings: int = 0
    drafts: int = 0
    pending: int = 0


def _weighted(rnd: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rnd.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _yuan(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("100"), rounding=ROUND_HALF_UP).quantize(CENT)


def _role_user(code: str) -> User | None:
    return User.objects.filter(is_active=True, groups__role__code=code).order_by("pk").first()


def seed_ledger_demo(
    *, seed: int = DEFAULT_SEED, months: int = 18, max_customers: int = 3000
) -> LedgerDemoSummary:
    """Seed the ledger of the demo customers (skips if any shipment exists already)."""
    summary = LedgerDemoSummary()
    if Shipment.objects.exists():
        return summary
    rnd = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    gm = _role_user("general_manager")
    finance = _role_user("finance") or gm
    if gm is None or finance is None:
        return summary
    customers = list(
        Customer.objects.alive().select_related("owner").order_by("pk")[:max_customers]
    )
    start = add_months(today, -months)
    shipments: list[Shipment] = []
    payments: list[Payment] = []
    terms_rows: list[CustomerTerms] = []
    coefficients: list[PriceCoefficient] = []
    buyers: list[Customer] = []
    with using(AuditContext(source="seed")), transaction.atomic():
        for customer in customers:
            share, size, per_month = PROFILES.get(customer.grade, PROFILES["C"])
            if rnd.random() > share:
                continue
            buyers.append(customer)
            days = _weighted(rnd, TERMS)
            terms_rows.append(CustomerTerms(customer=customer, days=days, updated_by=finance))
            payer = _weighted(rnd, [(name, w) for name, (w, _, _) in PAYERS.items()])
            _weight, delay, paid_share = PAYERS[payer]
            scale = rnd.uniform(*size)
            for month in range(months + 1):
                first = add_months(start, month)
                for _ in range(rnd.randint(*per_month)):
                    day = first + dt.timedelta(days=rnd.randint(0, 27))
                    if day > today:
                        continue
                    amount = _yuan(scale * rnd.uniform(0.4, 1.6))
                    cost = (amount * Decimal(str(rnd.uniform(0.68, 0.86)))).quantize(CENT)
                    unit = rnd.choice([1200, 2500, 4800, 8600])
                    shipment = Shipment(
                        customer=customer,
                        date=day,
                        amount=amount,
                        quantity=max(1, int(amount / unit)),
                        cost=cost,
                        order_reference=f"SO{day:%Y%m}{rnd.randint(1000, 9999)}",
                        due_date=day + dt.timedelta(days=days),
                        payment_terms_days=days,
                        created_by=customer.owner,
                    )
                    shipments.append(shipment)
                    paid_on = shipment.due_date + dt.timedelta(days=rnd.randint(*delay))
                    paid_on = max(paid_on, day)
                    if paid_on <= today:
                        payments.append(
                            Payment(
                                customer=customer,
                                date=paid_on,
                                amount=(amount * Decimal(str(paid_share))).quantize(CENT),
                                method=_weighted(rnd, METHODS),
                                reference=f"HK{paid_on:%Y%m%d}{rnd.randint(100, 999)}",
                                created_by=finance,
                            )
                        )
            if rnd.random() < 0.06:
                coefficients.append(
                    PriceCoefficient(
                        customer=customer,
                        coefficient=Decimal(str(rnd.choice([0.92, 0.95, 0.97, 1.05]))),
                        effective_from=add_months(today, -rnd.randint(1, 12)),
                        reason=rnd.choice(["战略合作客户", "年度框架协议", "集采项目报价"]),
                        status=rnd.choice(["approved", "approved", "pending"]),
                        proposed_by=customer.owner,
                        decided_by=gm,
                        decided_at=now,
                    )
                )
        for row in coefficients:
            if row.status == "pending":
                row.decided_by, row.decided_at = None, None
        CustomerTerms.objects.bulk_create(terms_rows, batch_size=2000)
        Shipment.objects.bulk_create(shipments, batch_size=2000)
        Payment.objects.bulk_create(payments, batch_size=2000)
        PriceCoefficient.objects.bulk_create(coefficients, batch_size=2000)
        recompute.rebuild_balances()
        summary.customers, summary.shipments, summary.payments = (
            len(buyers), len(shipments), len(payments),
        )  # fmt: skip
        _limits(rnd, buyers, gm, finance, now, today, summary)
        summary.ratings = credit_services.credit_rate_all(at=now, only_due=False)
        credit_services.credit_investigations_sweep(at=now)
        _round(rnd, buyers, now, today, summary)
    return summary


def _limits(
    rnd: random.Random,
    buyers: list[Customer],
    gm: User,
    finance: User,
    now: dt.datetime,
    today: dt.date,
    summary: LedgerDemoSummary,
) -> None:
    """An approved limit a year ago for most buyers, sized from their sales; a few customers
    end up over theirs (cut below the balance, confirmed)."""
    inputs = rules.gather_inputs(customers=[c.pk for c in buyers], as_of=today)
    a_year_ago = now - dt.timedelta(days=365)
    over = set(rnd.sample([c.pk for c in buyers], k=min(4, len(buyers))))
    rows = []
    for customer in buyers:
        values = inputs.get(customer.pk)
        if values is None or rnd.random() < 0.08:
            continue  # a cash customer: no limit
        monthly = max(values.annual_sales / 12, values.monthly_sales)
        wanted = max(
            monthly * (Decimal(values.terms_days) / 30 + Decimal("1.5")),
            values.balance * Decimal("1.1"),
        )
        amount = (wanted / 10000).to_integral_value(rounding=ROUND_CEILING) * 10000
        if customer.pk in over and values.balance > 0:
            amount = (values.balance * Decimal("0.8") / 1000).to_integral_value() * 1000
            summary.over_limit += 1
        rows.append(
            CreditLimit(
                customer=customer,
                amount=amount,
                reason="年度信用额度",
                status=CreditLimit.Status.APPROVED,
                proposed_by=finance,
                submitted_at=a_year_ago,
                due_at=a_year_ago + dt.timedelta(days=3),
                decided_by=gm,
                decided_at=a_year_ago + dt.timedelta(days=1),
                effective=CreditLimit.Effective.NOW,
                effective_from=a_year_ago + dt.timedelta(days=1),
                confirmed_below_balance=customer.pk in over,
            )
        )
    CreditLimit.objects.bulk_create(rows, batch_size=2000)
    summary.limits = len(rows)


def _round(
    rnd: random.Random,
    buyers: list[Customer],
    now: dt.datetime,
    today: dt.date,
    summary: LedgerDemoSummary,
) -> None:
    """The next quarter's proposal round: formula drafts, a few submitted, one overdue."""
    year, quarter = next_quarter(*quarter_of(today))
    if CreditRound.objects.filter(year=year, quarter=quarter).exists():
        return
    credit_round = CreditRound.objects.create(year=year, quarter=quarter, opened_at=now)
    inputs = rules.gather_inputs(customers=[c.pk for c in buyers], as_of=today)
    drafts = []
    for customer in buyers:
        values = inputs[customer.pk]
        level = rules.rate(values).level
        suggestion = rules.suggest_limit(values, level=level)
        drafts.append(
            CreditLimit(
                customer=customer,
                amount=suggestion.amount,
                suggested_amount=suggestion.amount,
                suggestion=suggestion.as_json(values, level),
                status=CreditLimit.Status.DRAFT,
                round=credit_round,
            )
        )
    CreditLimit.objects.bulk_create(drafts, batch_size=2000)
    credit_round.proposals = len(drafts)
    credit_round.save(update_fields=["proposals"])
    summary.drafts = len(drafts)
    submitted = rnd.sample(drafts, k=min(5, len(drafts)))
    for number, row in enumerate(submitted):
        # one submitted five days ago: past the 3-day deadline, shown as overdue
        at = now - dt.timedelta(days=5 if number == 0 else rnd.randint(0, 1), hours=2)
        CreditLimit.objects.filter(pk=row.pk).update(
            status=CreditLimit.Status.PENDING,
            amount=row.amount + 50000,
            reason="项目增量，申请上调",
            proposed_by=row.customer.owner,
            submitted_at=at,
            due_at=at + dt.timedelta(days=3),
        )
    summary.pending = len(submitted)
