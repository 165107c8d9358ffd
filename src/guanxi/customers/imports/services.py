"""Importing customers from a spreadsheet (客户导入). Policy: customers.* through the
archive's own services; cooperation.ladder for 合作状态.

New customers are filed chunk by chunk through customers.batch.customer_create_many, the
set-based twin of customers.services.customer_create: the same checks (shared functions,
no second copy), one credit-code query and one index read per name block for the whole
chunk, bulk inserts of customers, contacts, tags and history. A row that names a customer
already in the archive updates it instead of creating a duplicate, through
customer_update: matched by credit code, or, when the row has none, by the normalised
name (customers.dedup.normalise) within the row's region. A match outside the actor's
scope is a row error. Empty cells never clear a value. 合作状态 is written directly (the
cooperation app owns status changes and will offer a bulk status record) and is part of
the history: in the customer.created row of a new customer, a customer.updated row
otherwise.

Rows are processed in chunks of CHUNK_ROWS; a failing row is never written. All-or-nothing
(the default):
- in the worker (large files, the page polls the progress): a check pass whose chunks are
  written and rolled back, committing only ImportJob.processed_rows; then, if no row
  failed, the write pass in one transaction;
- in one process (the CLI, small files in the request): one pass in one transaction,
  rolled back if any row failed.
"Valid rows only" commits chunk by chunk and skips the rows that fail. Every change is
recorded with audit source "import". Speed: see the import benchmark (bench.py). The
file is read once per job instance (an .xlsx whole, by python-calamine: upload, start and
an inline run share the reading); on SQLite the run holds a larger page cache.

Uploaded files and error reports are deleted after customers.import_file_retention_days
by import_files_sweep (`python -m guanxi sweep`, from cron).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.audit.context import AuditContext, current, using
from guanxi.core import ahead as ahead_process
from guanxi.core.ahead import prefetch
from guanxi.core.china import normalise_credit_code, normalise_mobile
from guanxi.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from guanxi.customers import services as customer_services
from guanxi.customers.batch import (
    NewCustomer,
    created_history,
    customer_create_many,
    search_tokens,
)
from guanxi.customers.dedup.matching import BlockCache, archive_hits_many
from guanxi.customers.imports.columns import IGNORE, TARGET_KEYS, merge_mapping
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.imports.reader import Sheet, open_sheet
from guanxi.customers.imports.report import write_report
from guanxi.customers.imports.rows import Lookups, RowPlan, error_targets, plan_row
from guanxi.customers.models import Contact, Customer
from guanxi.customers.search import bulk
from guanxi.org.scopes import CHANGE

logger = logging.getLogger(__name__)

IMPORT_PERMISSION = "customers.add_customer"
CHUNK_ROWS = 2000
PREVIEW_ROWS = 20
# Files up to this many rows are imported in the request; larger ones by the worker.
INLINE_MAX_ROWS = 200
# A committed import that filed or changed at least this many customers queues a refresh
# of the planner statistics for the worker (customers.search.maintenance).
STATISTICS_AFTER_ROWS = 10_000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
STARTABLE = {ImportJob.Status.UPLOADED, ImportJob.Status.REFUSED, ImportJob.Status.FAILED}
FINISHED = {ImportJob.Status.COMMITTED, ImportJob.Status.REFUSED, ImportJob.Status.FAILED}

Progress = Callable[[int], None]


@dataclass
class RowError:
    row: int
    column: str
    value: str
    message: str


@dataclass
class PassResult:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    failed_rows: dict[int, dict[str, str]] = field(default_factory=dict)
    # row number → "created" | "updated" | "unchanged", for the preview's first rows.
    actions: dict[int, str] = field(default_factory=dict)

    @property
    def error_rows(self) -> int:
        return len(self.failed_rows)


def _require(actor: Any) -> None:
    if not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied(_("您没有导入客户的权限。"))


# --- jobs ------------------------------------------------------------------------------------
def import_job_create(
    *,
    actor: Any,
    file: UploadedFile,
    valid_only: bool = False,
    mapping: dict[str, str] | None = None,
    mapping_id: int | None = None,
) -> ImportJob:
    """Store an uploaded spreadsheet as an import job and read its header. Nothing is
    imported yet: the preview comes next. A saved mapping (mapping_id, the actor's own)
    and/or explicit header→field choices override the detected columns."""
    _require(actor)
    if file is None:
        raise ValidationFailed(detail={"file": [_("请选择要导入的文件。")]})
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            detail={"file": [_("文件过大，最大 %(mb)s MB。") % {"mb": MAX_UPLOAD_BYTES >> 20}]}
        )
    saved: dict[str, str] = {}
    if mapping_id:
        found = ImportMapping.objects.filter(created_by=actor, pk=mapping_id).first()
        if found is None:
            raise ValidationFailed(detail={"mapping_id": [_("所选的列对应方案不存在。")]})
        saved = found.columns
    name = (file.name or "import").rsplit("/", 1)[-1][:200]
    job = ImportJob(created_by=actor, original_name=name, valid_only=valid_only)
    job.file.save(name, file, save=False)
    try:
        sheet = open_sheet(job.file.path, name)
    except DomainError:
        job.file.storage.delete(job.file.name)
        raise
    job.encoding = sheet.encoding
    job.mapping = merge_mapping(sheet.headers, saved, mapping or {})
    job.total_rows = sheet.count()
    with transaction.atomic():
        job.save()
        audit.record(
            actor=actor,
            action="import.uploaded",
            obj=job,
            changes={"file": [None, name], "rows": [None, job.total_rows]},
        )
    _keep_sheet(job, sheet)
    return job


def _sheet(job: ImportJob) -> Sheet:
    """The job's spreadsheet, opened once per job instance: an .xlsx is read whole when
    opened (python-calamine), so the upload, the start and an inline run in the same
    process (the CLI, small files, the benchmark) share one reading."""
    if not job.file:
        raise ValidationFailed(_("导入文件已超过保留期并已删除，请重新上传。"))
    kept = getattr(job, "_opened_sheet", None)
    if kept is not None and kept[0] == job.file.name:
        return kept[1]
    sheet = open_sheet(job.file.path, job.original_name)
    _keep_sheet(job, sheet)
    return sheet


def _keep_sheet(job: ImportJob, sheet: Sheet) -> None:
    job._opened_sheet = (job.file.name, sheet)  # type: ignore[attr-defined]


def _columns(mapping: dict[str, str]) -> dict[str, str]:
    """target → header (first header wins; ignored columns dropped)."""
    columns: dict[str, str] = {}
    for header, key in mapping.items():
        if key and key != IGNORE and key in TARGET_KEYS:
            columns.setdefault(key, header)
    return columns


def _check_mapping(mapping: dict[str, str]) -> None:
    columns = _columns(mapping)
    if "name" not in columns:
        raise ValidationFailed(
            _("请指定哪一列是客户名称。"),
            detail={"mapping": [_("请指定哪一列是客户名称。")]},
        )
    used: dict[str, str] = {}
    for header, key in mapping.items():
        if key and key != IGNORE:
            if key in used:
                raise ValidationFailed(
                    _("“%(a)s”和“%(b)s”两列对应了同一个字段。") % {"a": used[key], "b": header},
                    detail={"mapping": [_("每个字段只能对应一列。")]},
                )
            used[key] = header


@dataclass
class Preview:
    job: ImportJob
    headers: list[str]
    header_row: int
    mapping: dict[str, str]
    rows: list[tuple[int, dict[str, str]]]
    errors: list[RowError]
    actions: dict[int, str]


def import_preview(
    *, actor: Any, job: ImportJob, mapping: dict[str, str] | None = None, limit: int = PREVIEW_ROWS
) -> Preview:
    """The first rows as parsed, the column mapping, and the errors a dry run of those rows
    finds with the real services (rolled back)."""
    _require(actor)
    sheet = _sheet(job)
    mapping = merge_mapping(sheet.headers, job.mapping, mapping or {})
    rows = list(islice(sheet.rows(), limit))
    result = PassResult()
    if "name" in _columns(mapping):
        with using(AuditContext(source="import")):
            _run_chunks(actor, iter(rows), mapping, Lookups(actor), result, write=False)
    return Preview(
        job=job,
        headers=sheet.headers,
        header_row=sheet.header_row,
        mapping=mapping,
        rows=rows,
        errors=result.errors,
        actions=result.actions,
    )


def import_job_start(
    *,
    actor: Any,
    job: ImportJob,
    mapping: dict[str, str] | None = None,
    valid_only: bool | None = None,
    save_mapping_as: str = "",
    run_inline: bool | None = None,
    progress: Progress | None = None,
) -> ImportJob:
    """Confirm the mapping and start the import: in this process for small files, else
    queued for the worker (django-tasks); `run_inline` forces either (the CLI runs in
    its own process, reporting to `progress`). A refused or failed job may be started
    again, e.g. with valid_only after reading the report."""
    _require(actor)
    if job.created_by_id != actor.pk:
        raise NotFound()
    sheet = _sheet(job)
    mapping = merge_mapping(sheet.headers, job.mapping, mapping or {})
    _check_mapping(mapping)
    if save_mapping_as.strip():
        import_mapping_save(actor=actor, name=save_mapping_as, columns=mapping)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=STARTABLE).update(
        status=ImportJob.Status.QUEUED,
        mapping=mapping,
        valid_only=job.valid_only if valid_only is None else valid_only,
        processed_rows=0,
        created_count=0,
        updated_count=0,
        error_count=0,
        message="",
        started_at=None,
        finished_at=None,
    )
    if not updated:
        raise Conflict(_("该导入任务已经开始或已完成。"))
    job.refresh_from_db()
    if run_inline is None:
        run_inline = job.total_rows <= INLINE_MAX_ROWS
    if run_inline:
        return import_job_run(job_id=job.pk, single_pass=True, progress=progress, sheet=sheet)
    from guanxi.customers.imports.tasks import import_job_run_task

    transaction.on_commit(lambda: import_job_run_task.enqueue(job.pk))
    return job


def import_job_run(
    *,
    job_id: int,
    progress: Progress | None = None,
    single_pass: bool = False,
    sheet: Sheet | None = None,
) -> ImportJob:
    """Run a queued job to the end (the worker's task, the CLI, small files inline).
    Idempotent: a job that is not queued is left alone. `sheet`: the job's file already
    opened by the caller (import_job_start, inline).

    All-or-nothing jobs run a check pass whose progress other processes see (the page),
    then the write pass; `single_pass` (CLI, small files) checks while writing, in one
    transaction, and reports progress only to `progress`."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job
    if sheet is not None:
        _keep_sheet(job, sheet)
    actor = job.created_by
    try:
        # In a request (small files) the request's address is kept; the worker has none.
        with using(AuditContext(source="import", ip=current().ip)), _page_cache():
            _run(actor, job, progress, single_pass)
    except DomainError as exc:
        _finish(job, ImportJob.Status.FAILED, message=str(exc.message))
    except Exception:
        logger.exception("import job %s failed", job_id)
        _finish(job, ImportJob.Status.FAILED, message=_("导入过程中发生系统错误，请联系管理员。"))
        raise
    return job


# SQLite's page cache while an import runs (KiB): the customers' indexes and the search
# index of a large archive are written at random places; the default 2 MB cache would
# read and write most of their pages again for every chunk. With 256 MB a 100,000-row
# import into a million customers still spilled dirty pages to the WAL mid-transaction
# (and wrote some of them again later): 1 GB took its chunks' writes from 23.2–25.4 s to
# 20.0–20.2 s (2,842–3,057 → 3,205–3,231 rows/s, alternating runs). The cache grows only
# as pages are used; SQLite frees it when the run sets the connection's own size back.
SQLITE_CACHE_KIB = 1024 * 1024


@contextlib.contextmanager
def _page_cache() -> Iterator[None]:
    """A larger SQLite page cache for the run (grown as pages are used), restored after."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _finish(job: ImportJob, status: str, *, message: str = "", result: Any = None) -> None:
    job.status = status
    job.message = message[:2000]
    job.finished_at = timezone.now()
    fields = ["status", "message", "finished_at"]
    if result is not None:
        job.processed_rows = result.processed
        job.created_count = result.created
        job.updated_count = result.updated
        job.error_count = result.error_rows
        fields += ["processed_rows", "created_count", "updated_count", "error_count"]
    job.save(update_fields=fields)


def _run(actor: Any, job: ImportJob, progress: Progress | None, single_pass: bool) -> None:
    if not actor.is_active or not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied(_("您没有导入客户的权限。"))
    sheet = _sheet(job)
    mapping = merge_mapping(sheet.headers, job.mapping)
    _check_mapping(mapping)
    lookups = Lookups(actor)

    def reporter(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=done)
        if progress:
            progress(done)

    ahead = job.total_rows > CHUNK_ROWS
    # Before this run's transaction: can the second process read what this one reads?
    archive = ahead and ahead_process.reader_possible()
    result = PassResult()
    if job.valid_only:
        _run_chunks(actor, sheet.rows(), mapping, lookups, result, write=True, progress=reporter,
                    ahead=ahead, archive_ahead=archive)  # fmt: skip
    elif single_pass:
        # Nobody polls this job from another process: write and check in one go, in one
        # transaction, undone if any row fails.
        with transaction.atomic():
            _run_chunks(actor, sheet.rows(), mapping, lookups, result, write=True,
                        progress=progress, ahead=ahead, archive_ahead=archive)  # fmt: skip
            if result.errors:
                transaction.set_rollback(True)
    else:
        _run_chunks(actor, sheet.rows(), mapping, lookups, result, write=False, progress=reporter,
                    ahead=ahead, archive_ahead=archive)  # fmt: skip
        if not result.errors:
            # Checked: now write every row in one transaction (nothing half-written).
            ImportJob.objects.filter(pk=job.pk).update(message=_("校验通过，正在写入…"))
            result = PassResult()
            with transaction.atomic():
                _run_chunks(actor, sheet.rows(), mapping, lookups, result, write=True,
                            ahead=ahead, archive_ahead=archive)  # fmt: skip
                if result.errors:  # the archive changed between the passes
                    transaction.set_rollback(True)
    _save_report(job, sheet, result)
    committed = not result.errors or (
        job.valid_only and bool(result.created or result.updated or result.unchanged)
    )
    if not committed:
        result.created = result.updated = result.unchanged = 0
    _finish(
        job,
        ImportJob.Status.COMMITTED if committed else ImportJob.Status.REFUSED,
        message=_summary(result, committed),
        result=result,
    )
    if committed and result.created + result.updated >= STATISTICS_AFTER_ROWS:
        from guanxi.customers.imports.tasks import refresh_statistics_task

        transaction.on_commit(refresh_statistics_task.enqueue)
    audit.record(
        actor=actor,
        action="import.committed" if committed else "import.refused",
        obj=job,
        changes={
            "created": [None, result.created],
            "updated": [None, result.updated],
            "errors": [None, result.error_rows],
        },
    )


def _summary(result: PassResult, committed: bool) -> str:
    if committed:
        text = _("新建 %(created)s 位、更新 %(updated)s 位、无变化 %(unchanged)s 位客户。") % {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        if result.error_rows:
            text += _("%(count)s 行有错误，未导入。") % {"count": result.error_rows}
        return text
    return _("%(count)s 行有错误，全部未导入。请下载错误报告，修改后重新导入。") % {
        "count": result.error_rows
    }


def _save_report(job: ImportJob, sheet: Sheet, result: PassResult) -> None:
    if job.report:
        job.report.storage.delete(job.report.name)
        job.report = None
    if result.errors:
        content = write_report(result.errors, sheet.headers, result.failed_rows)
        job.report.save(f"import-{job.pk}-errors.xlsx", ContentFile(content), save=False)
    job.save(update_fields=["report"])


# --- the row loop ----------------------------------------------------------------------------
@dataclass
class _Seen:
    """Customers already named higher up in the same file."""

    codes: dict[str, int] = field(default_factory=dict)
    names: dict[tuple[str, int | None], tuple[int, str]] = field(default_factory=dict)

    def duplicate_of(self, plan: RowPlan) -> int | None:
        first = None
        if plan.code and plan.code in self.codes:
            first = self.codes[plan.code]
        elif plan.name_key:
            earlier = self.names.get((plan.name_key, plan.region_id))
            if earlier is not None and (not plan.code or not earlier[1]):
                first = earlier[0]
        if plan.code:
            self.codes.setdefault(plan.code, plan.number)
        if plan.name_key:
            self.names.setdefault((plan.name_key, plan.region_id), (plan.number, plan.code))
        return first


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _run_chunks(
    actor: Any,
    rows: Iterator[tuple[int, dict[str, str]]],
    mapping: dict[str, str],
    lookups: Lookups,
    result: PassResult,
    *,
    write: bool,
    progress: Progress | None = None,
    ahead: bool = False,
    archive_ahead: bool = False,
) -> None:
    """Process rows chunk by chunk, each chunk in its own transaction (a savepoint when
    the caller holds one). write=False rolls every chunk back: a dry run. `ahead`: read,
    parse and check the rows in a second process while this one writes (core.ahead;
    for files of more than one chunk, setting GUANXI_IMPORT_AHEAD). `archive_ahead`: that
    process may also read the archive's name blocks for the duplicate check, through a
    connection of its own (core.ahead.reader_possible, asked before the run's
    transaction began)."""
    columns = _columns(mapping)
    seen = _Seen()
    enabled = ahead and settings.GUANXI_IMPORT_AHEAD
    match_ahead = enabled and archive_ahead and ahead_process.available()
    # The archive's name blocks are read once for all chunks when they share one
    # transaction (or are each rolled back): not when each commits while others write.
    # Hits read ahead need the customers filed by earlier chunks kept (BlockCache.filed).
    keep = connection.in_atomic_block or not write
    blocks = BlockCache(track_writes=write, keep_blocks=keep) if keep or match_ahead else None
    planned = _planned(actor, rows, columns, lookups, match_ahead=match_ahead)
    with _frozen_heap():
        for plans, new_customers in prefetch(planned, shared=lookups.records(), enabled=enabled):
            with transaction.atomic():
                actions = _apply_chunk(actor, plans, seen, lookups, blocks, new_customers)
                for plan, action in zip(plans, actions, strict=True):
                    result.processed += 1
                    if plan.errors:
                        _collect(result, plan, columns)
                    else:
                        setattr(result, action, getattr(result, action) + 1)
                        if len(result.actions) < PREVIEW_ROWS:
                            result.actions[plan.number] = action
                if not write:
                    transaction.set_rollback(True)
            if progress:
                progress(result.processed)


def _planned(
    actor: Any,
    rows: Iterator[tuple[int, dict[str, str]]],
    columns: dict[str, str],
    lookups: Lookups,
    *,
    match_ahead: bool = False,
) -> Iterator[tuple[list[RowPlan], list[NewCustomer]]]:
    """The chunks' row plans, and for each row the new customer it would file: the
    unsaved customer the archive's rules make of it (customer_services.new_customer, as
    customer_create_many calls it) and, when those rules pass, its history row's changes
    and its search tokens (SQLite: search.bulk); with `match_ahead`, the duplicate check's
    archive hits too (read through the second process's own connection). Pure Python,
    which core.ahead can run in a second process while this one writes the chunk before.
    A row that turns out to update a customer does not use its own."""
    types = customer_services.customer_types()
    language = get_language()
    tokens = bulk.wants_tokens()
    actor.department  # noqa: B018 -- the default branch: loaded here, not where rows are planned

    def item(plan: RowPlan) -> NewCustomer:
        new = _new_customer(plan, lookups)
        new.prepared = customer_services.new_customer(
            actor, new.data, new.contacts, types=types, foreign_keys=False
        )
        customer, contacts, errors, _valid = new.prepared
        if not errors and not plan.errors:
            new.history = audit.encode_changes(
                created_history(new, customer, types=types, language=language)
            )
            if tokens:
                new.search_tokens = search_tokens(customer, contacts)
        return new

    archive = _ArchiveAhead() if match_ahead else None

    def items(plans: list[RowPlan]) -> list[NewCustomer]:
        news = [item(plan) for plan in plans]
        if archive is not None:
            archive.match(news)
        return news

    # A generator expression, not a generator function: the lines above run now, in this
    # process; the rows are read and planned where the expression is iterated.
    return (
        (plans, items(plans))
        for chunk in _chunks(rows, CHUNK_ROWS)
        for plans in [[plan_row(number, cells, columns, lookups) for number, cells in chunk]]
    )


class _ArchiveAhead:
    """In the second process: the duplicate check's archive hits of each chunk's new
    customers (dedup.matching.archive_hits_many), read through a connection of its own
    (core.ahead.reader: what is committed) and kept block by block for the next chunks.
    The importing process then reads only the records of the hits (resolve_ahead) and
    compares the customers it filed meanwhile itself (customers.batch._accept)."""

    def __init__(self) -> None:
        self.blocks = BlockCache(track_writes=False)

    def match(self, news: list[NewCustomer]) -> None:
        checked = [
            (new, new.prepared[0])
            for new in news
            if new.prepared is not None and not new.prepared[2]
        ]
        keys = [(customer.name_normalised, customer.credit_code) for _new, customer in checked]
        found = archive_hits_many(keys, blocks=self.blocks, using=ahead_process.reader())
        for (new, _customer), hits in zip(checked, found, strict=True):
            new.archive_hits = hits


def _new_customer(plan: RowPlan, lookups: Lookups) -> NewCustomer:
    return NewCustomer(
        data=plan.data,
        contacts=[plan.contact] if plan.contact else None,
        tags=plan.tags,
        cooperation_status=plan.status or "",
        cooperation_status_label=lookups.status_label(plan.status) if plan.status else "",
    )


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Python's cycle collector stands aside while the rows are processed, in this process
    and in the second one (forked within). The rows allocate millions of objects (model
    instances, history rows, dicts) and hardly any cycles among them, and every young
    collection walked them again: measured at 100,000 rows into a million customers, with
    the collector the importing process spent 34.6 s and its helper 26.8 s, without 30.5
    and 22.7 s (2,575 → 2,894 rows/s), at the same peak memory (979 and 851 MB); raising
    the oldest generation's threshold alone gained nothing (34.1 s). Before that, the
    objects alive when the run starts were already frozen (gc.freeze): full collections
    walked the whole heap. Nothing is lost: objects are still freed when unreferenced;
    only cycles wait for the first collection after the run."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def _collect(result: PassResult, plan: RowPlan, columns: dict[str, str]) -> None:
    result.failed_rows[plan.number] = plan.cells
    for target, messages in plan.errors.items():
        header = columns.get(target, "")
        value = plan.cells.get(header, "") if header else ""
        for message in dict.fromkeys(messages):
            result.errors.append(RowError(plan.number, header, value, str(message)))


@dataclass
class _ChunkContext:
    """The archive records a chunk's rows may update, fetched in a few queries."""

    by_code: dict[str, Customer]
    by_name: dict[str, list[Customer]]
    changeable: set[int]
    contacts: dict[int, list[Contact]]
    tags: dict[int, set[str]]

    @classmethod
    def load(cls, actor: Any, plans: list[RowPlan]) -> _ChunkContext:
        codes = {p.code for p in plans if p.code}
        names = {p.name_key for p in plans if p.name_key}
        # Two index searches rather than one OR (which the databases answer by reading
        # the whole table): the code one through the live-code index (holding_codes);
        # deleted records of the name one are dropped here (see
        # customers.dedup.matching._block_rows).
        code_rows = Customer.objects.holding_codes(codes).order_by().values_list("pk", flat=True)
        name_rows = (
            Customer.objects.filter(name_normalised__in=names)
            .order_by()
            .values_list("pk", "deleted_at")
        )
        ids = {*code_rows} if codes else set()
        if names:
            ids.update(pk for pk, deleted_at in name_rows if deleted_at is None)
        found = (
            list(
                Customer.objects.filter(pk__in=ids)
                .order_by("pk")
                .select_related("owner", "department", "region", "industry")
            )
            if ids
            else []
        )
        by_name: dict[str, list[Customer]] = {}
        for customer in found:
            by_name.setdefault(customer.name_normalised, []).append(customer)
        contacts: dict[int, list[Contact]] = {}
        for contact in Contact.objects.filter(customer_id__in=ids, deleted_at__isnull=True):
            contacts.setdefault(contact.customer_id, []).append(contact)
        tags: dict[int, set[str]] = {}
        for customer_id, name in Customer.tags.through.objects.filter(
            customer_id__in=ids
        ).values_list("customer_id", "tag__name"):
            tags.setdefault(customer_id, set()).add(name)
        return cls(
            by_code={c.credit_code: c for c in found if c.credit_code},
            by_name=by_name,
            changeable=set(
                Customer.objects.visible_to(actor, CHANGE)
                .filter(pk__in=ids)
                .values_list("pk", flat=True)
            ),
            contacts=contacts,
            tags=tags,
        )

    def match(self, plan: RowPlan) -> tuple[Customer | None, str | None]:
        """The archive customer this row describes: by credit code; else by normalised
        name within the row's region (any region when the row names none)."""
        if plan.code and plan.code in self.by_code:
            return self.by_code[plan.code], None
        if not plan.name_key:
            return None, None
        candidates = self.by_name.get(plan.name_key, [])
        if plan.region_given:
            candidates = [c for c in candidates if c.region_id == plan.region_id]
        if plan.code:
            # A different company may share the name; only a record without code is this one.
            candidates = [c for c in candidates if not c.credit_code]
        if len(candidates) > 1:
            return None, _(
                "档案中有 %(count)s 位名称相同的客户，无法确定更新哪一位；"
                "请填写统一社会信用代码或区域。"
            ) % {"count": len(candidates)}
        return (candidates[0] if candidates else None), None


def _apply_chunk(
    actor: Any,
    plans: list[RowPlan],
    seen: _Seen,
    lookups: Lookups,
    blocks: BlockCache | None,
    new_customers: list[NewCustomer],
) -> list[str]:
    """Create or update the customers of a chunk's rows (`new_customers`: what _planned
    made of each); problems land in plan.errors and leave the row unwritten. New
    customers are filed together by customers.batch.customer_create_many (the archive's
    rules, set-based); rows that update a customer go through customer_update one by
    one."""
    context = _ChunkContext.load(actor, plans)
    actions = ["unchanged"] * len(plans)
    new: list[int] = []
    for index, plan in enumerate(plans):
        duplicate = seen.duplicate_of(plan)
        if duplicate is not None:
            plan.error(
                "credit_code" if plan.code else "name",
                _("与第 %(row)s 行是同一客户，重复的行不导入。") % {"row": duplicate},
            )
            continue
        existing, problem = context.match(plan)
        if problem:
            plan.error("name", problem)
        elif existing is None:
            new.append(index)
        elif existing.pk not in context.changeable:
            plan.error(
                "credit_code" if plan.code else "name",
                _("该客户已在档案中，但不在您的数据范围内，不能通过导入修改。"),
            )
        else:
            actions[index] = _apply(actor, plan, existing, context, lookups)
            if actions[index] == "updated" and blocks is not None:
                blocks.clear()  # a name may have changed: its key moved to another block
    items = []
    for index in new:
        item = new_customers[index]
        # A row with errors of its own is checked for the report, never written.
        item.check_only = bool(plans[index].errors)
        items.append(item)
    # The live codes the context read stand for the archive's unless a row of this chunk
    # updated a customer (its code may have changed): then they are read again.
    taken = None if "updated" in actions else set(context.by_code)
    outcomes = (
        customer_create_many(actor=actor, items=items, blocks=blocks, taken_codes=taken)
        if items
        else []
    )
    for index, outcome in zip(new, outcomes, strict=True):
        plan = plans[index]
        if outcome.error is not None:
            _report(plan, outcome.error)
        elif not plan.errors:
            actions[index] = "created"
    return actions


def _report(plan: RowPlan, exc: DomainError) -> None:
    """A service's refusal as the row's errors, in the import's columns."""
    if isinstance(exc, NotFound | PermissionDenied):
        plan.error("", str(exc.message))
        return
    for target, messages in error_targets(plan, exc.detail, str(exc.message)).items():
        for message in messages:
            plan.error(target, message)


def _apply(
    actor: Any, plan: RowPlan, existing: Customer, context: _ChunkContext, lookups: Lookups
) -> str:
    """Update the row's customer through customer_update, inside a savepoint; problems
    land in plan.errors and undo the row."""
    action = "unchanged"
    try:
        with transaction.atomic():
            action = _update(actor, plan, existing, context)
            customer = existing
            if plan.status and customer.cooperation_status != plan.status:
                _set_cooperation_status(actor, customer, plan.status, lookups)
                action = "updated" if action == "unchanged" else action
            if plan.errors:
                transaction.set_rollback(True)
    except DomainError as exc:
        _report(plan, exc)
    except IntegrityError:
        plan.error("", str(Conflict.default_message))
    return action if not plan.errors else "unchanged"


def _same(customer: Customer, key: str, value: Any) -> bool:
    current = getattr(customer, key)
    if key in {"owner", "department", "region", "industry"}:
        return getattr(customer, f"{key}_id") == getattr(value, "pk", value)
    if key == "credit_code":
        return current == normalise_credit_code(value)
    if key == "registered_capital":
        try:
            return current is not None and Decimal(str(value)) == current
        except InvalidOperation:
            return False
    if key == "first_contact_on":
        return isinstance(value, dt.date) and current == value
    return str(current or "").strip() == str(value).strip()


def _update(actor: Any, plan: RowPlan, customer: Customer, context: _ChunkContext) -> str:
    data = {k: v for k, v in plan.data.items() if not _same(customer, k, v)}
    contacts = None
    if plan.contact:
        current = context.contacts.get(customer.pk, [])
        same_name = next((c for c in current if c.name == plan.contact["name"]), None)
        if same_name is None:
            contacts = [{"id": c.pk} for c in current] + [plan.contact]
        else:
            changed = {
                k: v
                for k, v in plan.contact.items()
                if str(getattr(same_name, k) or "") != (normalise_mobile(v) if k == "mobile" else v)
            }
            if changed:
                contacts = [
                    {"id": c.pk, **(changed if c.pk == same_name.pk else {})} for c in current
                ]
    tags = None
    if plan.tags:
        have = context.tags.get(customer.pk, set())
        wanted = {str(tag) for tag in plan.tags}
        if not wanted <= have:
            tags = sorted(have | wanted)
    if not data and contacts is None and tags is None:
        return "unchanged"
    customer_services.customer_update(
        actor=actor, customer_id=customer.pk, data=data, contacts=contacts, tags=tags
    )
    return "updated"


def _set_cooperation_status(actor: Any, customer: Customer, code: str, lookups: Lookups) -> None:
    """合作状态 from the spreadsheet. customers.services has no writer for it yet (the
    cooperation app will own status changes); the value is checked against
    cooperation.ladder by plan_row and the change is audited like any other."""
    old = customer.cooperation_status
    Customer.objects.filter(pk=customer.pk).update(cooperation_status=code)
    customer.cooperation_status = code
    audit.record(
        actor=actor,
        action="customer.updated",
        obj=customer,
        changes={
            "cooperation_status": [lookups.status_label(old) if old else None,
                                   lookups.status_label(code)]
        },
    )  # fmt: skip


# --- saved mappings ----------------------------------------------------------------------------
def import_mapping_save(*, actor: Any, name: str, columns: dict[str, str]) -> ImportMapping:
    """Save (or replace) one of the actor's header → field mappings under a name."""
    _require(actor)
    name = name.strip()[:60]
    if not name:
        raise ValidationFailed(detail={"name": [_("请填写方案名称。")]})
    clean = {str(h): k for h, k in columns.items() if k in TARGET_KEYS or k == ""}
    mapping, _created = ImportMapping.objects.update_or_create(
        created_by=actor, name=name, defaults={"columns": clean}
    )
    return mapping


def import_mapping_delete(*, actor: Any, mapping_id: int) -> None:
    deleted, _rows = ImportMapping.objects.filter(created_by=actor, pk=mapping_id).delete()
    if not deleted:
        raise NotFound()


# --- retention ---------------------------------------------------------------------------------
@dataclass
class SweepReport:
    jobs: int = 0
    files: int = 0
    bytes: int = 0


def import_files_sweep(*, at: dt.datetime | None = None, batch: int = 500) -> SweepReport:
    """Delete uploaded import files and their error reports once they are older than
    customers.import_file_retention_days (counted from the upload). The jobs stay (with
    their counts, message and history); a job being imported is left alone. Idempotent:
    run it from `python -m guanxi sweep` (cron) as often as you like."""
    at = at or timezone.now()
    days = policy.get("customers.import_file_retention_days", at=at)
    cutoff = at - dt.timedelta(days=days)
    report = SweepReport()
    busy = {ImportJob.Status.QUEUED, ImportJob.Status.RUNNING}
    while True:
        jobs = list(
            ImportJob.objects.filter(created_at__lt=cutoff)
            .exclude(status__in=busy)
            .exclude(file="", report="")
            .order_by("pk")[:batch]
        )
        if not jobs:
            return report
        for job in jobs:
            stored = [f for f in (job.file, job.report) if f and f.name]
            with transaction.atomic():
                # Compare-and-swap first: once the names are cleared the job cannot be
                # started again (its file is gone), and a job restarted meanwhile keeps it.
                cleared = (
                    ImportJob.objects.filter(pk=job.pk)
                    .exclude(status__in=busy)
                    .update(file="", report="")
                )
                if cleared:
                    audit.record(
                        actor=None,
                        action="import.files_deleted",
                        obj=job,
                        changes={"files": [[f.name for f in stored], None]},
                        note=_("超过导入文件保留期（%(days)s天）") % {"days": days},
                    )
            if not cleared:
                continue
            for item in stored:
                with contextlib.suppress(OSError):  # already gone: nothing to free
                    report.bytes += item.storage.size(item.name)
                item.storage.delete(item.name)
                report.files += 1
            report.jobs += 1
