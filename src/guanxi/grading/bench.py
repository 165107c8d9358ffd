"""Benchmark functions of grading, called by `python -m guanxi bench` (metrics grading_1m_s
and grading_speedup_vs_loop in customers.search.bench.metrics).

Each returns {"metric", "value", "unit", "db", "target", "note"}. They work on the current
database; when it holds no ledger rows, ledger.bench.bench_dataset first writes 10 ledger
rows per customer.

- bench_grading: grading.services.grading_run over every customer (what the CLI, the
  background task and the page run): one statement per indicator family for everyone,
  percentiles, scores by id range, bulk score writes, Customer.grade updated set-based.
  Seconds.
- bench_grading_speedup: the same grades for a sample of 10,000 customers (1,000 with
  --quick), set-based against a per-customer ORM loop (a query per indicator family per
  customer, the timeliness of ledger.analytics.timeliness, score_one in Decimals, a save
  per customer), with the same resolved model; value = loop ÷ set-based. The note says
  whether both produced the same grades, scores, values and points.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.grading import engine
from guanxi.grading.models import GradeScore, GradingRun, RoleScore
from guanxi.grading.services import (
    _apply_grades,
    _json_list,
    _load_columns,
    _write_scores,
    grading_run,
    resolved_pack,
)
from guanxi.ledger import analytics
from guanxi.ledger.models import CustomerBalance, CustomerMonth, Order, Payment, Shipment
from guanxi.ledger.periods import add_months, month_start

TARGETS = {"postgresql": 60, "sqlite": 120}
SPEEDUP_TARGET = 20


def _load() -> str:
    try:
        one, five, _fifteen = os.getloadavg()
    except OSError:
        return "load n/a"
    return f"load average {one:.1f}/{five:.1f}"


def _ensure_data(customers: int) -> None:
    if not Shipment.objects.exists():
        from guanxi.ledger.bench import bench_dataset

        bench_dataset(customers=customers, rows=customers * 10)


def _scale() -> str:
    rows = Shipment.objects.count() + Payment.objects.count()
    return f"{Customer.objects.alive().count():,} customers, {rows:,} ledger rows"


def bench_grading(*, db_label: str, customers: int = 10_000, quick: bool = False) -> dict[str, Any]:
    """Grade every customer of the database (seconds; lower is better)."""
    _ensure_data(customers)
    started = time.perf_counter()
    run = grading_run()
    elapsed = time.perf_counter() - started
    return {
        "metric": "grading_1m_s",
        "value": round(elapsed, 2),
        "unit": "s",
        "db": db_label,
        "target": TARGETS.get(db_label, 120),
        "note": f"{_scale()}; graded {run.graded:,}, changed {run.changed:,}, "
        f"distribution {run.distribution}; {_load()}",
    }


def _facts_one(pack: engine.Pack, pk: int, as_of: Any) -> dict[str, Any]:
    """The naive way: one customer, one query per indicator family."""
    this_month = month_start(as_of)
    m12, m24, m36 = (add_months(this_month, -n) for n in (12, 24, 36))
    y1 = Q(month__gte=m12, month__lt=this_month)
    sums = CustomerMonth.objects.filter(customer_id=pk).aggregate(
        y1=Sum("shipped_amount", filter=y1),
        cost=Sum("shipped_cost", filter=y1),
        paid=Sum("paid_amount", filter=y1),
        y0=Sum("shipped_amount", filter=Q(month__gte=m24, month__lt=m12)),
        y3=Sum("shipped_amount", filter=Q(month__gte=m36, month__lt=add_months(m36, 12))),
    )
    facts: dict[str, Any] = {}
    if any(v is not None for v in sums.values()):
        amount = analytics.to_money(sums["y1"])
        active = sums["y1"] is not None and amount != 0
        facts.update(
            order_amount=amount if active else None,
            order_profit=analytics.to_money(amount - analytics.to_money(sums["cost"]))
            if active
            else None,
            collection_rate=engine._ratio(analytics.to_money(sums["paid"]), amount),
            yoy_growth=engine._growth(amount, analytics.to_money(sums["y0"])),
            growth_3y=engine._growth(amount, analytics.to_money(sums["y3"])),
        )
    # a reversal takes one off the month of the shipment it reverses
    counts = Shipment.objects.filter(customer_id=pk).aggregate(
        n=Count("id", filter=Q(reversal_of__isnull=True, date__gte=m12, date__lt=this_month)),
        r=Count("id", filter=Q(reversal_of__date__gte=m12, reversal_of__date__lt=this_month)),
    )
    if counts["n"] or counts["r"]:
        facts["order_count"] = max(0, counts["n"] - counts["r"])
    timely = analytics.timeliness(as_of=as_of, customers=[pk]).get(pk)
    if timely is not None:
        facts["days_late"] = timely.avg_days_late if timely.decided else None
    import datetime as dt

    orders = Order.objects.filter(
        customer_id=pk,
        status=Order.Status.OPEN,
        date__lte=as_of - dt.timedelta(days=pack.stagnant_order_days),
    ).aggregate(t=Sum("amount"), s=Sum("shipped_amount"))
    if orders["t"] is not None:
        facts["stagnant_orders"] = max(
            Decimal(0), analytics.to_money(orders["t"]) - analytics.to_money(orders["s"])
        )
    for row in RoleScore.objects.filter(customer_id=pk, current=True):
        facts[f"role:{row.indicator}"] = row.points
    if "balances" in pack.families:
        balance = CustomerBalance.objects.filter(customer_id=pk).values_list("balance").first()
        if balance is not None:
            facts["balance"] = balance[0]
    return facts


def _loop(pack: engine.Pack, ids: list[int], run: GradingRun, as_of: Any) -> list[engine.Scored]:
    now = timezone.now()
    results = []
    for pk in ids:
        customer = Customer.objects.get(pk=pk)
        scored = engine.score_one(
            pack, pk, _facts_one(pack, pk, as_of), customer.registered_capital
        )
        GradeScore.objects.create(
            customer_id=pk, run=run, grade=scored.grade, score=scored.score,
            values=[None if v is None else str(v) for v in scored.values],
            points=[str(p) for p in scored.points], computed_at=now,
        )  # fmt: skip
        if customer.grade != scored.grade:
            customer.grade = scored.grade
            customer.save(update_fields=["grade"])
        results.append(scored)
    return results


def _put_back(grades: dict[int, str], changed_to: dict[int, str]) -> None:
    """Customer.grade back to `grades` where a run changed it (one UPDATE per grade)."""
    back: dict[str, list[int]] = {}
    for pk, grade in changed_to.items():
        if grades.get(pk, grade) != grade:
            back.setdefault(grades[pk], []).append(pk)
    for grade, pks in back.items():
        for start in range(0, len(pks), 900):  # SQLite's variable limit
            Customer.objects.filter(pk__in=pks[start : start + 900]).update(grade=grade)


def bench_grading_speedup(
    *, db_label: str, customers: int = 10_000, quick: bool = False
) -> dict[str, Any]:
    """Set-based against a per-customer ORM loop on the same sample (ratio; higher is
    better). Percentiles are resolved once beforehand for both."""
    _ensure_data(customers)
    size = 1_000 if quick else 10_000
    ids = list(Customer.objects.alive().order_by("pk").values_list("pk", flat=True)[:size])
    window = range(ids[0], ids[-1] + 1)
    at = timezone.now()
    as_of = timezone.localtime(at).date()
    pack = resolved_pack(at=at)

    def new_run() -> GradingRun:
        return GradingRun.objects.create(
            as_of=as_of, model=pack.frozen_model(), bands=pack.bands,
            policy_version=pack.version, status=GradingRun.Status.RUNNING,
        )  # fmt: skip

    # Both ways read warm pages and make the same grade changes: the sample's figures are
    # read once beforehand (untimed), and the grades the set-based way changed are put back
    # before the loop (untimed), which then changes them one save at a time.
    _load_columns(pack, window, as_of)
    grades = dict(
        Customer.objects.filter(pk__gte=window.start, pk__lt=window.stop).values_list("pk", "grade")
    )
    run_set = new_run()
    started = time.perf_counter()
    columns = _load_columns(pack, window, as_of)
    set_rows = engine.Scorer(pack).score(columns, 0, columns.size)
    found = columns.ids
    with transaction.atomic():
        _write_scores(run_set, set_rows, timezone.now())
        _apply_grades(run_set, window, every=True)  # the loop sets every grade too
    set_seconds = time.perf_counter() - started
    _put_back(grades, {pk: grade for pk, grade, *_rest in set_rows})

    run_loop = new_run()
    started = time.perf_counter()
    with transaction.atomic():
        loop_rows = _loop(pack, found, run_loop, as_of)
    loop_seconds = time.perf_counter() - started
    for run in (run_set, run_loop):
        run.status = GradingRun.Status.DONE
        run.graded = len(found)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "graded", "finished_at"])
    same = sum(
        1
        for a, b in zip(set_rows, loop_rows, strict=True)
        if a[0] == b.customer_id
        and (a[1], Decimal(a[2]).scaleb(-2), a[3], a[4])
        == (b.grade, b.score, _json_list(b.values), _json_list(b.points))
    )
    return {
        "metric": "grading_speedup_vs_loop",
        "value": round(loop_seconds / set_seconds, 1),
        "unit": "ratio",
        "db": db_label,
        "target": SPEEDUP_TARGET,
        "note": f"{len(found):,}-customer sample of {_scale()}: set-based {set_seconds:.2f} s, "
        f"per-customer loop {loop_seconds:.2f} s; identical results for {same:,}/"
        f"{len(found):,}; {_load()}",
    }
