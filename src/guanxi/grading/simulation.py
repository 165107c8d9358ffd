"""What-if: grade everyone under the policy in force and under a draft version overlaid on
it, from the same data, and compare. Policy: grading.model, grading.bands,
grading.treatment (the draft may change any of them).

simulate(*, draft_values, at=None) -> Simulation
  matrix[from][to] counts, the list of customers that move (id, name, from, to, scores),
  and the visit workload (visits per year from grading.treatment) before and after.

The baseline is computed now with the same engine and data as grading_run, so the moves
are exactly those the next run after publishing the draft (effective now) makes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.grading import engine
from guanxi.grading.selectors import grade_treatments
from guanxi.grading.services import CHUNK, id_chunks, resolved_pack
from guanxi.policy.models import PolicyVersion


@dataclass
class Move:
    customer_id: int
    name: str
    before: str
    after: str
    score_before: Decimal
    score_after: Decimal


@dataclass
class Simulation:
    before_codes: list[str]
    after_codes: list[str]
    before_labels: dict[str, str]
    after_labels: dict[str, str]
    matrix: dict[str, dict[str, int]]
    moves: list[Move] = field(default_factory=list)
    total: int = 0
    moved: int = 0
    visits_before: Decimal = Decimal(0)
    visits_after: Decimal = Decimal(0)
    distribution_before: dict[str, int] = field(default_factory=dict)
    distribution_after: dict[str, int] = field(default_factory=dict)

    @property
    def visits_change(self) -> Decimal:
        return self.visits_after - self.visits_before

    def rows(self) -> list[tuple[str, list[int], int]]:
        """Matrix rows for a table: (from, counts per `after_codes`, row total)."""
        return [
            (
                code,
                [self.matrix.get(code, {}).get(to, 0) for to in self.after_codes],
                sum(self.matrix.get(code, {}).values()),
            )
            for code in self.before_codes
        ]


def draft_values(version: PolicyVersion) -> dict[str, Any]:
    return {item.key: item.value for item in version.values.all()}


def simulate(
    *,
    draft_values: dict[str, Any],
    at: dt.datetime | None = None,
    chunk: int = CHUNK,
    list_limit: int | None = 1000,
) -> Simulation:
    at = at or timezone.now()
    as_of = timezone.localtime(at).date()
    before = resolved_pack(at=at, chunk=chunk)
    after = resolved_pack(at=at, draft=draft_values, chunk=chunk)
    families = before.families | after.families
    gather_pack = engine.Pack(
        version=0,
        indicators=before.indicators + after.indicators,
        bands=before.bands,
        treatment=before.treatment,
        stagnant_order_days=before.stagnant_order_days,
    )
    if after.stagnant_order_days != before.stagnant_order_days:
        families_after = {"orders"}
    else:
        families_after = set()
    before_codes = [b["code"] for b in before.bands]
    after_codes = [b["code"] for b in after.bands]
    result = Simulation(
        before_codes=before_codes,
        after_codes=after_codes,
        before_labels={b["code"]: b["label"] for b in before.bands},
        after_labels={b["code"]: b["label"] for b in after.bands},
        matrix={code: {} for code in before_codes},
    )
    dist_before: Counter[str] = Counter()
    dist_after: Counter[str] = Counter()
    moved_ids: list[tuple[int, engine.Scored, engine.Scored]] = []
    for window in id_chunks(chunk):
        ids, facts, capital = engine.gather(
            pack=gather_pack, customers=window, as_of=as_of, only=families
        )
        facts_after = facts
        if families_after:
            _ids, extra, _cap = engine.gather(
                pack=after, customers=window, as_of=as_of, only=families_after
            )
            facts_after = {pk: {**facts.get(pk, {}), **extra.get(pk, {})} for pk in ids}
        empty: dict[str, Any] = {}
        for pk in ids:
            one = engine.score_one(before, pk, facts.get(pk, empty), capital.get(pk))
            two = engine.score_one(after, pk, facts_after.get(pk, empty), capital.get(pk))
            dist_before[one.grade] += 1
            dist_after[two.grade] += 1
            row = result.matrix.setdefault(one.grade, {})
            row[two.grade] = row.get(two.grade, 0) + 1
            if one.grade != two.grade:
                moved_ids.append((pk, one, two))
    result.total = sum(dist_before.values())
    result.moved = len(moved_ids)
    result.distribution_before = dict(dist_before)
    result.distribution_after = dict(dist_after)
    t_before = grade_treatments(dist_before, table=before.treatment)
    t_after = grade_treatments(dist_after, table=after.treatment)
    result.visits_before = sum(
        (t_before[g].visits_per_year * n for g, n in dist_before.items()), Decimal(0)
    )
    result.visits_after = sum(
        (t_after[g].visits_per_year * n for g, n in dist_after.items()), Decimal(0)
    )
    listed = moved_ids if list_limit is None else moved_ids[:list_limit]
    names = dict(
        Customer.objects.filter(pk__in=[pk for pk, _a, _b in listed]).values_list("pk", "name")
    )
    result.moves = [
        Move(pk, names.get(pk, ""), one.grade, two.grade, one.score, two.score)
        for pk, one, two in listed
    ]
    return result
