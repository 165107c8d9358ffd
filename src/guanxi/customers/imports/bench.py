"""Benchmark functions of import and export, called by `python -m guanxi bench`.

Each returns {"metric", "value", "unit", "db", "target"}. They work on the current
database: the demo company's organisation is created if the database is empty
(seed-demo with no customers); imported customers stay.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.files import File

from guanxi.customers.dedup.matching import BLOCK_PREFIX, find_candidates_many, score_among
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.demo.writer import demo_users_in_database, seed_demo
from guanxi.customers.imports import export, services
from guanxi.customers.imports.models import ImportJob
from guanxi.customers.imports.sample import SAMPLE_HEADERS, sample_rows, write_xlsx
from guanxi.customers.models import Customer
from guanxi.org.models import User

IMPORT_TARGET = 10_000
EXPORT_TARGET = 10_000


def _administrator() -> User:
    """The demo company's administrator (its organisation is what the rows name)."""
    users = {u.username: u for u in demo_users_in_database()}
    if "admin" not in users:
        seed_demo(customers=0)
        users = {u.username: u for u in demo_users_in_database()}
    return User.objects.get(pk=users["admin"].pk)


def _taken() -> tuple[set[str], set[str]]:
    if not Customer.objects.exists():
        return set(), set()
    names = set(Customer.objects.values_list("name", flat=True))
    codes = set(Customer.objects.exclude(credit_code="").values_list("credit_code", flat=True))
    return names, codes


def _refused_rows(job: ImportJob) -> set[int]:
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(job.report.path).get_sheet_by_index(0)
    return {int(row[0]) for row in list(sheet.iter_rows())[1:]}


def _screen(rows: list[list[Any]], *, archive: bool) -> list[list[Any]]:
    """Drop generated rows the duplicate warning would refuse (a name close to an earlier
    row's or, in a non-empty archive, to an existing customer's, with no credit code to
    tell them apart), so that the timed run is a clean one. Uses the importer's own
    matching (find_candidates_many, score_among), in bulk."""
    keys = [normalise_name(row[1]) for row in rows]
    found = (
        find_candidates_many([(key, row[2]) for key, row in zip(keys, rows, strict=True)])
        if archive
        else [[] for _row in rows]
    )
    kept: list[list[Any]] = []
    blocks: dict[str, list[tuple[int, str, str, str]]] = {}
    for index, (row, key, archive_hits) in enumerate(zip(rows, keys, found, strict=True)):
        block = blocks.setdefault(key[:BLOCK_PREFIX], [])
        if archive_hits or score_among(key, block, credit_code=row[2]):
            continue
        block.append((index, row[1], key, row[2]))
        kept.append(row)
    return kept


def bench_import(rows: int, *, db_label: str, seed: int = 3) -> dict[str, Any]:
    """Import an .xlsx of `rows` new, valid customers as an administrator, end to end
    (upload, read, per-row services, report), all-or-nothing as the CLI runs it.

    Generated names that the duplicate warning (customers.dedup) would refuse are
    screened out first; should a run still be refused, its failing rows are dropped and
    the run repeated (a refused all-or-nothing run writes nothing). Only the committed run
    is timed, and the value counts the rows it imported."""
    actor = _administrator()
    names, codes = _taken()
    generated = _screen(
        list(
            sample_rows(rows, seed=seed + len(names), taken_names=names, taken_credit_codes=codes)
        ),
        archive=bool(names),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-import.xlsx"
        for _attempt in range(3):
            write_xlsx(path, SAMPLE_HEADERS, generated)
            normalise_name.cache_clear()  # the screening above must not do the import's work
            started = time.perf_counter()
            with open(path, "rb") as handle:
                job = services.import_job_create(actor=actor, file=File(handle, name=path.name))
            job = services.import_job_start(actor=actor, job=job, run_inline=True)
            elapsed = time.perf_counter() - started
            if job.status == ImportJob.Status.COMMITTED:
                break
            refused = _refused_rows(job)
            # Sheet row n (header on row 1) is generated[n - 2].
            generated = [r for i, r in enumerate(generated, start=2) if i not in refused]
        else:
            raise RuntimeError(f"benchmark import refused: {job.message}")
    job.file.delete(save=False)
    return {
        "metric": "import_rows_per_s",
        "value": round(len(generated) / elapsed, 1),
        "unit": "rows/s",
        "db": db_label,
        "target": IMPORT_TARGET,
    }


def bench_export(
    rows: int = 10_000, *, db_label: str, layouts: tuple[str, ...] = export.LAYOUTS
) -> dict[str, Any]:
    """Export `rows` customers (the whole visible list, or the first `rows` of it) as the
    administrator to .xlsx, end to end (query, masking, writing), in each layout.

    The value is the 客户统计表 layout's ("statistics", the seeds' export form), or the
    full layout's should that one meet the target too; both figures are in the result."""
    actor = _administrator()
    missing = rows - Customer.objects.alive().count()
    if missing > 0:
        seed_demo(customers=missing)
    speeds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in layouts:
            customers = export.customers_for_export(actor=actor, layout=layout)[:rows]
            started = time.perf_counter()
            written = export.write_workbook(
                actor=actor,
                customers=customers,
                layout=layout,
                output=str(Path(tmp) / f"{layout}.xlsx"),
            )
            speeds[layout] = round(written / (time.perf_counter() - started), 1)
    headline = "full" if speeds.get("full", 0) >= EXPORT_TARGET else "statistics"
    if headline not in speeds:
        headline = next(iter(speeds))
    return {
        "metric": "export_rows_per_s",
        "value": speeds[headline],
        "unit": "rows/s",
        "db": db_label,
        "target": EXPORT_TARGET,
        "layout": headline,
        **{f"{layout}_rows_per_s": speed for layout, speed in speeds.items()},
        "rows": rows,
    }
