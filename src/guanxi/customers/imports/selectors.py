"""Reads of customers.imports: a user sees only their own import jobs and mappings."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.errors import NotFound
from guanxi.customers.imports.models import ImportJob, ImportMapping


def import_job_list(*, actor: Any) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(created_by_id=actor.pk).order_by("-created_at", "-id")


def import_job_get(*, actor: Any, pk: Any) -> ImportJob:
    """One of the actor's import jobs; anybody else's is NotFound, like a missing one."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    job = import_job_list(actor=actor).filter(pk=pk).first()
    if job is None:
        raise NotFound()
    return job


def import_mapping_list(*, actor: Any) -> QuerySet[ImportMapping]:
    return ImportMapping.objects.filter(created_by_id=actor.pk).order_by("name")


def import_mapping_get(*, actor: Any, pk: Any) -> ImportMapping:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    mapping = import_mapping_list(actor=actor).filter(pk=pk).first()
    if mapping is None:
        raise NotFound()
    return mapping


def progress_percent(job: ImportJob) -> int:
    if job.status == ImportJob.Status.COMMITTED:
        return 100
    if not job.total_rows:
        return 0
    return min(100, round(100 * job.processed_rows / job.total_rows))
