"""Background work of grading (django-tasks; `python -m guanxi db_worker`)."""

from __future__ import annotations

from django_tasks import task

from guanxi.grading import services


@task()
def grading_run_task(run_id: int) -> None:
    """Run a queued grading run (loads it by id; idempotent)."""
    services.grading_run_execute(run_id=run_id)
