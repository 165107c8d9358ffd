"""Background work of customers.imports (django-tasks; `python -m guanxi db_worker`)."""

from __future__ import annotations

from django_tasks import task

from guanxi.customers.imports import services


@task()
def import_job_run_task(job_id: int) -> None:
    """Run a queued import job (loads it by id; idempotent)."""
    services.import_job_run(job_id=job_id)


@task()
def refresh_statistics_task() -> None:
    """Refresh the planner statistics of the tables an import fills, after a large one
    (customers.search.maintenance)."""
    from guanxi.customers.search.maintenance import IMPORTED_TABLES, update_statistics

    update_statistics(tables=IMPORTED_TABLES)
