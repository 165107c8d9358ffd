"""Demo cooperation history for `seed-demo`: a year of monthly status updates for the demo
customers, with the downgrades, special reviews and upgrade credits they lead to.

    from guanxi.cooperation.demo import seed_cooperation_demo; seed_cooperation_demo()

Deterministic for a seed; months are laid out back from today. Every status change goes
through the real rules (cooperation.services._apply, dated in the past), so special
reviews and the leaderboard are exactly what the policy makes of the history; the monthly
confirmations are bulk-written. Audit rows carry the historical moment of the change
(like customers.demo.writer, the one place that writes history into the past). Reviews
older than REVIEW_CLOSE_DAYS get the director's meeting outcome and are closed; the newer
ones stay open for the director's list. This month only some owners have confirmed yet,
so the "not updated" list has names in it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.audit import services as real_audit
from guanxi.audit.context import AuditContext, using
from guanxi.audit.models import AuditEvent
from guanxi.cooperation import services
from guanxi.cooperation.ladder import ladder_at, month_start, next_month
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange
from guanxi.customers.models import Customer
from guanxi.org.models import User

DEFAULT_SEED = 2026
REVIEW_CLOSE_DAYS = 45
START_WEIGHTS = {"green": 25, "blue": 35, "yellow": 20, "white": 17, "black": 3}
DOWN_REASONS = [
    ("竞争对手低价切入，客户开始比价", "本周拜访采购经理，准备阶梯报价"),
    ("项目延期，本季度无新订单", "每两周电话跟进项目进度"),
    ("交货延误引起客户不满", "协调生产保证交期，总监陪同拜访致歉"),
    ("客户更换采购负责人，关系需重建", "安排新负责人见面并介绍公司产品"),
    ("回款放缓，合作趋于谨慎", "与财务对账，商定回款计划"),
    ("合同到期未续签", "准备续签方案，争取入围下一批招标"),
]
UP_REASONS = [
    ("中标入围", "积极维护，按月回访"),
    ("签订年度合作协议", "跟进首批订单交付"),
    ("问题已解决，客户恢复下单", "保持每月拜访"),
    ("高层互访后关系改善", "跟紧联系，争取更多份额"),
]
OUTCOMES = [
    "查明原因为竞争对手价格冲击，维持负责人，调整报价策略。",
    "负责人跟进不及时，更换负责人并由主管带教。",
    "客户经营困难，列入重点观察，每月汇报。",
]


@dataclass
class CooperationDemoSummary:
    customers: int = 0
    changes: int = 0
    confirmations: int = 0
    reviews_open: int = 0
    reviews_closed: int = 0
    upgrades_counted: int = 0


class _HistoricalAudit:
    """Stands in for guanxi.audit.services while the demo replays the past: the same
    events, stamped with the replayed moment and written in bulk at the end."""

    def __init__(self) -> None:
        self.moment = timezone.now()
        self.events: list[AuditEvent] = []

    def record(self, **kwargs: Any) -> AuditEvent:
        event = real_audit.build(**kwargs)
        event.at = self.moment
        self.events.append(event)
        return event

    def diff(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return real_audit.diff(before, after)


@contextlib.contextmanager
def _replaying(shim: _HistoricalAudit) -> Iterator[None]:
    field = AuditEvent._meta.get_field("at")
    saved = field.auto_now_add
    services.audit = shim  # type: ignore[assignment]
    try:
        yield
        field.auto_now_add = False
        AuditEvent.objects.bulk_create(shim.events, batch_size=1000)
    finally:
        field.auto_now_add = saved
        services.audit = real_audit


def _weighted(rnd: random.Random, weights: dict[str, int]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _moment(day: dt.date, rnd: random.Random) -> dt.datetime:
    at = dt.datetime.combine(day, dt.time(rnd.randint(9, 17), rnd.randint(0, 59)))
    return timezone.make_aware(at)


def _next_status(codes: list[str], current: str, rnd: random.Random) -> str:
    """A monthly random walk on the ladder: mostly unchanged, small steps either way."""
    index = codes.index(current)
    roll = rnd.random()
    if roll > 0.11:
        return current
    step = 2 if rnd.random() < 0.08 else 1
    if roll < 0.07:  # upgrade
        return codes[max(0, index - step)]
    worst = len(codes) - 1
    if index + step >= worst and rnd.random() < 0.7:
        step = max(0, worst - 1 - index)  # black is rare
    return codes[min(worst, index + step)]


def seed_cooperation_demo(
    *, seed: int = DEFAULT_SEED, months: int = 12, max_customers: int = 3000
) -> CooperationDemoSummary:
    """Write a year of monthly status history for the demo customers (skips when any
    status change exists already)."""
    summary = CooperationDemoSummary()
    if StatusChange.objects.exists():
        return summary
    director = (
        User.objects.filter(is_active=True, groups__role__code="sales_director")
        .order_by("pk")
        .first()
    )
    rnd = random.Random(seed)
    today = timezone.localdate()
    this_month = month_start(today)
    first = this_month
    for _ in range(months):
        first = month_start(first - dt.timedelta(days=1))
    customers = list(
        Customer.objects.alive().select_related("owner").order_by("pk")[:max_customers]
    )
    codes = [step.code for step in ladder_at()]
    shim = _HistoricalAudit()
    confirmations: list[MonthlyUpdate] = []
    with using(AuditContext(source="seed")), transaction.atomic(), _replaying(shim):
        states: dict[int, str] = {}
        for customer in customers:
            start = customer.cooperation_status
            if start not in codes:
                start = _weighted(rnd, {c: START_WEIGHTS.get(c, 10) for c in codes})
            states[customer.pk] = start
            shim.moment = _moment(first, rnd)
            # The archive's starting point, as an import would have recorded it.
            change = StatusChange.objects.create(
                customer=customer,
                from_status="",
                to_status=start,
                direction=StatusChange.Direction.INITIAL,
                source=StatusChange.Source.IMPORT,
                owner=customer.owner,
                changed_by=customer.owner,
                changed_at=shim.moment,
            )
            shim.record(
                actor=customer.owner,
                action="cooperation.status_changed",
                obj=change,
                changes={"cooperation_status": [None, ladder_at().label(start)]},
                note=str(StatusChange.Source.IMPORT.label),
            )
            Customer.objects.filter(pk=customer.pk).update(cooperation_status=start)
            customer.cooperation_status = start
        # This month some owners are done, some half-way, some have not started.
        owners = sorted({c.owner_id for c in customers})
        progress = {owner: rnd.choice([1.0, 1.0, 0.6, 0.3, 0.0]) for owner in owners}
        month = next_month(first)
        while month <= this_month:
            current = month == this_month
            last_day = today if current else next_month(month) - dt.timedelta(days=1)
            for customer in customers:
                share = progress[customer.owner_id] if current else 0.94
                if rnd.random() > share:
                    continue
                day = month + dt.timedelta(days=rnd.randint(0, max(0, last_day.day - 1)))
                day = min(day, last_day)
                at = _moment(day, rnd)
                if at > timezone.now():
                    at = timezone.now() - dt.timedelta(minutes=rnd.randint(1, 600))
                old = states[customer.pk]
                new = _next_status(codes, old, rnd)
                change = None
                if new != old:
                    shim.moment = at
                    down = codes.index(new) > codes.index(old)
                    reason, plan = rnd.choice(DOWN_REASONS if down else UP_REASONS)
                    result = services._apply(
                        actor=customer.owner,
                        customer=customer,
                        ladder=ladder_at(at),
                        status=new,
                        reason=reason,
                        plan=plan,
                        source=StatusChange.Source.MONTHLY,
                        at=at,
                    )
                    states[customer.pk] = new
                    change = result.change
                    summary.changes += 1
                    summary.upgrades_counted += result.credit is not None
                    if result.review_opened is not None and director is not None:
                        _maybe_close(shim, result.review_opened, director, rnd, today)
                confirmations.append(
                    MonthlyUpdate(
                        customer=customer,
                        month=month,
                        status=new,
                        change=change,
                        owner=customer.owner,
                        confirmed_at=at,
                    )
                )
            month = next_month(month)
        MonthlyUpdate.objects.bulk_create(confirmations, batch_size=2000)
    summary.customers = len(customers)
    summary.confirmations = len(confirmations)
    summary.reviews_open = SpecialReview.objects.filter(status=SpecialReview.Status.OPEN).count()
    summary.reviews_closed = SpecialReview.objects.filter(
        status=SpecialReview.Status.CLOSED
    ).count()
    return summary


def _maybe_close(
    shim: _HistoricalAudit, review: SpecialReview, director: User, rnd: random.Random, today: Any
) -> None:
    """Reviews old enough had their meeting: outcome recorded and closed (historically)."""
    meeting = timezone.localdate(review.opened_at) + dt.timedelta(days=rnd.randint(3, 12))
    if (today - meeting).days < REVIEW_CLOSE_DAYS:
        return
    at = _moment(meeting, rnd)
    review.meeting_on, review.outcome = meeting, rnd.choice(OUTCOMES)
    review.outcome_by, review.outcome_at = director, at
    review.status = SpecialReview.Status.CLOSED
    review.closed_by, review.closed_at = director, at
    review.save()
    shim.moment = at
    shim.record(
        actor=director,
        action="special_review.outcome_recorded",
        obj=review,
        changes={"outcome": [None, review.outcome], "meeting_on": [None, meeting]},
    )
    shim.record(
        actor=director,
        action="special_review.closed",
        obj=review,
        changes={
            "status": [str(SpecialReview.Status.OPEN.label), str(review.get_status_display())]
        },
    )
