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
    """Refresh the planner statistics of the tables an import fills (customers, contacts,
    tag links), whose statistics the list and search plans read, after a large one
    (customers.search.maintenance)."""
    from guanxi.customers.models import Contact, Customer
    from guanxi.customers.search.maintenance import update_statistics

    models = (Customer, Contact, Customer.tags.through)
    update_statistics(tables=tuple(model._meta.db_table for model in models))
