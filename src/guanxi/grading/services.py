"""Grading: writes. The public functions other capabilities (the annual review cycle,
lifecycle lists) build on:

- grading_run(*, actor=None, at=None, progress=None, chunk=50_000) -> GradingRun
  Grade every alive customer now, set-based (grading.engine): the figures of everyone
  read once, one statement per indicator family, percentiles resolved from them, then per
  id range the scores computed column by column, bulk-written (COPY on PostgreSQL) and
  Customer.grade updated in one statement. The same function runs behind
  `python -m guanxi grade`, the background task and the bench.
- grading_run_request(*, actor) -> GradingRun: queue a run for the background worker
  (permission grading.run_grading); grading_run_execute(*, run_id) runs a queued one.
- role_score_set(*, actor, customer_id, indicator, points, note="") -> RoleScore
  An indicator scored 0–5 by a role named in grading.model (scoped; audited).
- grade_preview(*, customer_ids, at=None, pack=None) -> dict[int, engine.Scored]
  Grades computed now without storing them (percentiles over all customers).
- simulate(*, draft_values, at=None) -> Simulation (grading.simulation): what-if.

Reads (grade, breakdown, history, treatment) are in grading.selectors.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.core.errors import NotFound, PermissionDenied, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.grading import engine
from guanxi.grading.models import GradeScore, GradingRun, RoleScore
from guanxi.grading.rules import ROLE_SOURCE
from guanxi.org.scopes import CHANGE

Progress = Callable[[int, int], None]
CHUNK = 50_000


def id_chunks(chunk: int = CHUNK) -> list[range]:
    bounds = Customer.objects.alive().aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    low, high = bounds["low"], bounds["high"]
    return [range(start, min(start + chunk, high + 1)) for start in range(low, high + 1, chunk)]


def resolved_pack(
    *, at: dt.datetime | None = None, draft: dict[str, Any] | None = None, chunk: int = CHUNK
) -> engine.Pack:
    """The pack in force (or overlaid by a draft) with percentile steps resolved over all
    customers as of `at` (one read of the families the percentile indicators use; `chunk`
    is no longer used)."""
    at = at or timezone.now()
    pack = engine.pack_load(at=at, draft=draft)
    if engine.needs_population(pack):
        found = engine.load(
            families=engine.population_families(pack),
            customers=None,
            as_of=timezone.localtime(at).date(),
            stagnant_order_days=pack.stagnant_order_days,
            roles=_role_codes(pack),
        )
        pack = engine.resolve_from(pack, found)
    return pack


def _role_codes(pack: engine.Pack) -> set[str]:
    return {i.code for i in pack.indicators if i.source == ROLE_SOURCE}


def _load_columns(pack: engine.Pack, customers: Any, as_of: dt.date) -> engine.Columns:
    return engine.load(
        families=pack.families,
        customers=customers,
        as_of=as_of,
        stagnant_order_days=pack.stagnant_order_days,
        roles=_role_codes(pack),
    )


def _json_list(items: list[Any]) -> str:
    return "[" + ",".join("null" if v is None else f'"{v}"' for v in items) + "]"


def _copy_text(value: str) -> str:
    """A text value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        .replace("\r", "\\r")
    )  # fmt: skip


Row = tuple[int, str, int, str, str]  # engine.Scorer.score: id, grade, cents, values, points


def _write_scores(run: GradingRun, rows: list[Row], now: dt.datetime) -> None:
    """Bulk insert of one range's scores (COPY on PostgreSQL, its text format written
    directly: ids, cents, JSON of numbers and the grade codes need no other conversion)."""
    columns = ["customer_id", "run_id", "grade", "score", "values", "points", "computed_at"]
    table = GradeScore._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            grades = {code: _copy_text(code) for code in {r[1] for r in rows}}
            tail = f"\t{now.isoformat()}\n"
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for start in range(0, len(rows), 10_000):
                    copy.write(
                        "".join(
                            f"{pk}\t{run.pk}\t{grades[grade]}\t{cents // 100}.{cents % 100:02d}"
                            f"\t{values}\t{points}{tail}"
                            for pk, grade, cents, values, points in rows[start : start + 10_000]
                        )
                    )
        else:
            stamp = now.isoformat()
            cursor.executemany(
                f"INSERT INTO {table} ({quoted}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (pk, run.pk, grade, f"{cents // 100}.{cents % 100:02d}", values, points,
                     stamp)
                    for pk, grade, cents, values, points in rows
                ],
            )  # fmt: skip


def _apply_grades(run: GradingRun, window: range | list[int], *, every: bool) -> int:
    """Customer.grade := the run's grade, in one statement for the range; returns how many
    changed. Unless `every` (policy grading.batch_sets_grade = "all"), only customers with
    no grade yet get one (a provisional grade): the others' grades take effect through the
    annual review cycle (reviews app), which a batch run must not overwrite."""
    score_table = GradeScore._meta.db_table
    customer_table = Customer._meta.db_table
    if isinstance(window, range):
        where, params = "c.id >= %s AND c.id < %s", [window.start, window.stop]
    else:
        where, params = f"c.id IN ({', '.join(['%s'] * len(window))})", list(window)
    sql = f"""
        UPDATE {customer_table} AS c SET grade = s.grade
        FROM {score_table} AS s
        WHERE s.run_id = %s AND s.customer_id = c.id AND {where} AND c.grade <> s.grade
          {"" if every else "AND c.grade = ''"}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run.pk, *params])
        return cursor.rowcount


def _execute(
    run: GradingRun, *, at: dt.datetime, progress: Progress | None, chunk: int,
    customers: list[int] | None = None,
) -> GradingRun:  # fmt: skip
    as_of = timezone.localtime(at).date()
    pack = engine.pack_load(at=at)
    if customers is None:
        # one read of every family for everyone: the percentiles come from the same columns
        found = _load_columns(pack, None, as_of)
        if engine.needs_population(pack):
            pack = engine.resolve_from(pack, found)
    else:
        pack = resolved_pack(at=at)  # percentiles over all customers
        found = _load_columns(pack, customers, as_of)
    scorer = engine.Scorer(pack)
    run.policy_version = pack.version
    run.model = pack.frozen_model()
    run.bands = pack.bands
    run.as_of = as_of
    run.status = GradingRun.Status.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["policy_version", "model", "bands", "as_of", "status", "started_at"])
    windows = list(found.windows(chunk))
    total = len(windows)
    distribution: Counter[str] = Counter()
    graded = changed = 0
    now = timezone.now()
    every = policy.get("grading.batch_sets_grade", at=at) == "all"
    for index, (start, stop, window) in enumerate(windows, start=1):
        rows = scorer.score(found, start, stop)
        with transaction.atomic():
            _write_scores(run, rows, now)
            changed += _apply_grades(run, window, every=every)
        graded += len(rows)
        distribution.update(r[1] for r in rows)
        if progress is not None:
            progress(index, total)
    run.graded, run.changed = graded, changed
    run.distribution = {band["code"]: distribution.get(band["code"], 0) for band in pack.bands}
    run.status = GradingRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["graded", "changed", "distribution", "status", "finished_at"])
    audit.record(
        actor=run.started_by,
        action="grading.run_completed",
        obj=run,
        note=f"graded {graded}, changed {changed}, policy v{run.policy_version}",
    )
    return run


def grading_run(
    *,
    actor: Any = None,
    at: dt.datetime | None = None,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    customers: list[int] | None = None,
) -> GradingRun:
    """Grade every alive customer now (or only `customers`, e.g. tests). Policy:
    grading.model, grading.bands. Each range commits on its own, so a run over a million
    customers never holds one huge transaction; a failed run is marked failed."""
    at = at or timezone.now()
    run = GradingRun.objects.create(
        as_of=timezone.localtime(at).date(),
        started_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return _run_guarded(run, at=at, progress=progress, chunk=chunk, customers=customers)


def _run_guarded(run: GradingRun, **kwargs: Any) -> GradingRun:
    try:
        return _execute(run, **kwargs)
    except Exception as exc:
        run.status = GradingRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise


def grading_run_request(*, actor: Any) -> GradingRun:
    """Queue a run for the background worker (grading.tasks); one queued or running run at
    a time. Permission: grading.run_grading."""
    if not actor.has_perm("grading.run_grading"):
        raise PermissionDenied()
    from guanxi.grading.tasks import grading_run_task

    with transaction.atomic():
        busy = (
            GradingRun.objects.select_for_update()
            .filter(status__in=[GradingRun.Status.QUEUED, GradingRun.Status.RUNNING])
            .first()
        )
        if busy is not None:
            raise ValidationFailed(_("已有评级批次在排队或计算中，请等待其完成。"))
        run = GradingRun.objects.create(as_of=timezone.localdate(), started_by=actor)
        audit.record(actor=actor, action="grading.run_requested", obj=run)
        transaction.on_commit(lambda: grading_run_task.enqueue(run.pk))
    return run


def grading_run_execute(*, run_id: int) -> GradingRun | None:
    """Run a queued run (the task; idempotent: anything but a queued run is left alone)."""
    claimed = GradingRun.objects.filter(pk=run_id, status=GradingRun.Status.QUEUED).update(
        status=GradingRun.Status.RUNNING
    )
    if not claimed:
        return None
    run = GradingRun.objects.select_related("started_by").get(pk=run_id)
    return _run_guarded(run, at=timezone.now(), progress=None, chunk=CHUNK, customers=None)


def grade_preview(
    *,
    customer_ids: list[int],
    at: dt.datetime | None = None,
    pack: engine.Pack | None = None,
) -> dict[int, engine.Scored]:
    """Grades computed now for some customers, not stored."""
    at = at or timezone.now()
    pack = pack or resolved_pack(at=at)
    found = _load_columns(pack, customer_ids, timezone.localtime(at).date())
    return {r.customer_id: r for r in engine.Scorer(pack).scored(found, 0, found.size)}


# --- role scores ----------------------------------------------------------------------------
def role_indicators(*, at: dt.datetime | None = None) -> list[engine.Indicator]:
    return [i for i in engine.pack_load(at=at).indicators if i.source == ROLE_SOURCE]


def scorable_indicators(actor: Any, *, at: dt.datetime | None = None) -> list[engine.Indicator]:
    """The role-scored indicators the actor may score (by role codes named in the model)."""
    codes = set(actor.role_codes()) if getattr(actor, "is_authenticated", False) else set()
    return [i for i in role_indicators(at=at) if codes & set(i.roles)]


@transaction.atomic
def role_score_set(
    *, actor: Any, customer_id: Any, indicator: str, points: Any, note: str = ""
) -> RoleScore:
    """Record a role's 0–5 score of one indicator for one customer (yes = 5, no = 0, partly
    in between). Only users with a role the model names for the indicator, and only for
    customers in their scope (else NotFound). The previous score stays as history."""
    customer = customer_get(actor=actor, pk=customer_id, action=CHANGE)
    item = next((i for i in role_indicators() if i.code == indicator), None)
    if item is None:
        raise ValidationFailed(detail={"indicator": [_("评分模型中没有这个由角色评分的指标。")]})
    roles = [code for code in actor.role_codes() if code in item.roles]
    if not roles:
        raise PermissionDenied(_("该指标只能由指定角色评分。"))
    try:
        value = Decimal(str(points).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or not Decimal(0) <= value <= Decimal(5):
        raise ValidationFailed(detail={"points": [_("评分应为0到5之间的数字。")]})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(detail={"points": [_("评分最多保留两位小数。")]})
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationFailed(detail={"note": [_("评分说明最多300个字符。")]})
    previous = (
        RoleScore.objects.select_for_update()
        .filter(customer=customer, indicator=indicator, current=True)
        .first()
    )
    if previous is not None:
        previous.current = False
        previous.save(update_fields=["current"])
    row = RoleScore.objects.create(
        customer=customer,
        indicator=indicator,
        points=value,
        note=note,
        role=roles[0],
        scored_by=actor,
        scored_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="grading.role_scored",
        obj=row,
        changes={f"{indicator}": [str(previous.points) if previous else None, str(value)]},
        note=note,
    )
    return row


def run_get(*, run_id: Any) -> GradingRun:
    from guanxi.core.ids import parse_id

    pk = parse_id(run_id)
    run = GradingRun.objects.filter(pk=pk).first() if pk is not None else None
    if run is None:
        raise NotFound()
    return run


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
