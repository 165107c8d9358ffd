"""What the review cycle and the lifecycle lists need from the grading engine, in one
place. Everything else in this app goes through here, so that when the grading app offers
a public function for a need below, only this module changes.

- band_codes / band_label: the grades of the pack in force (grading.bands).
- proposals: the engine's grades computed now (grading.services.grade_preview, set-based
  per chunk, percentiles resolved once over all customers). Public API.
- grades_apply: make decided grades effective. STAND-IN: the grading app has no public
  function that sets a grade decided by people (with the grade history entry) yet, so this
  updates Customer.grade in one statement per grade and writes one audit row per changed
  customer (the audit log is the customer's history). It does not add a row to the grading
  app's grade history (GradeScore), which only holds engine runs.
- higher_grade_since: an Exists() over the grading app's stored grade history for the
  elimination list (grading.selectors.graded_outside_since). Public API.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Exists
from django.utils import timezone

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.customers.models import Customer
from guanxi.grading import selectors as grading_selectors
from guanxi.grading import services as grading_services

CHUNK = 5_000


def bands(at: dt.datetime | None = None) -> list[dict[str, Any]]:
    return list(policy.get("grading.bands", at=at))


def band_codes(at: dt.datetime | None = None) -> list[str]:
    """Grade codes, best first."""
    return [band["code"] for band in bands(at)]


def band_label(code: str, at: dt.datetime | None = None) -> str:
    return next((b["label"] for b in bands(at) if b["code"] == code), code)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def proposals(
    customer_ids: list[int], *, at: dt.datetime | None = None, chunk: int = CHUNK
) -> tuple[int, Iterator[tuple[int, str, Decimal]]]:
    """(policy version, iterator of (customer id, grade, score)) computed now."""
    at = at or timezone.now()
    pack = grading_services.resolved_pack(at=at)

    def rows() -> Iterator[tuple[int, str, Decimal]]:
        for ids in _chunks(customer_ids, chunk):
            scored = grading_services.grade_preview(customer_ids=ids, at=at, pack=pack)
            for pk in ids:
                result = scored[pk]
                yield pk, result.grade, result.score

    return pack.version, rows()


def grades_apply(
    *, actor: Any, changes: Iterable[tuple[int, str, str]], action: str, obj: Any, note: str
) -> int:
    """Set Customer.grade for (customer id, old grade, new grade) triples whose grade
    changes; one UPDATE per new grade and one bulk audit insert. Call inside the caller's
    transaction. Returns how many customers changed."""
    by_grade: dict[str, list[int]] = defaultdict(list)
    events = []
    for customer_id, old, new in changes:
        if old == new:
            continue
        by_grade[new].append(customer_id)
        events.append(
            audit.build(
                actor=actor,
                action=action,
                obj=obj,
                customer_id=customer_id,
                changes={"grade": [old or None, new]},
                note=note,
            )
        )
    now = timezone.now()
    for grade, ids in by_grade.items():
        for part in _chunks(ids, 900):  # SQLite's variable limit
            Customer.objects.filter(pk__in=part).update(grade=grade, updated_at=now)
    audit.record_many(events)
    return len(events)


def higher_grade_since(*, grades: list[str], since: dt.datetime) -> Exists:
    """Exists() for a Customer queryset: the engine graded the customer outside `grades`
    in a finished run since `since` (grading.selectors.graded_outside_since)."""
    return grading_selectors.graded_outside_since(grades=grades, since=since)
