"""The retention sweep of uploaded import files (customers.import_file_retention_days) and
`python -m guanxi sweep`."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import ValidationFailed
from guanxi.customers.imports import services
from guanxi.customers.imports.models import ImportJob
from guanxi.customers.imports.tests.conftest import xlsx_upload
from guanxi.policy.services import policy_set

BAD = [["瑞丰建材有限公司", "91110000000000000X"]]  # a bad credit code: a report is written


def _job(actor, *, days_ago: int, start: bool = True) -> ImportJob:
    with time_machine.travel(timezone.now() - dt.timedelta(days=days_ago), tick=False):
        job = services.import_job_create(
            actor=actor, file=xlsx_upload(["客户", "统一社会信用代码"], BAD)
        )
        if start:
            job = services.import_job_start(actor=actor, job=job, run_inline=True)
    job.refresh_from_db()
    return job


def _stored(job: ImportJob) -> list[bool]:
    return [bool(f) and f.storage.exists(f.name) for f in (job.file, job.report)]


def test_files_older_than_the_retention_period_are_deleted_and_the_job_kept(org):
    old = _job(org.sales_bj, days_ago=31)
    young = _job(org.sales_bj, days_ago=29)
    assert old.status == ImportJob.Status.REFUSED
    assert _stored(old) == [True, True] and _stored(young) == [True, True]
    names = [old.file.name, old.report.name]
    storage = old.file.storage

    report = services.import_files_sweep()

    assert (report.jobs, report.files) == (1, 2)
    assert report.bytes > 0
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.file.name, old.report.name) == ("", "")
    assert not any(storage.exists(name) for name in names)
    assert _stored(young) == [True, True]
    # The job and its history stay.
    assert (old.status, old.error_count) == (ImportJob.Status.REFUSED, 1)
    event = AuditEvent.objects.get(action="import.files_deleted")
    assert event.object_id == str(old.pk) and event.actor is None
    assert event.changes == {"files": [names, None]}
    # Idempotent.
    assert services.import_files_sweep().jobs == 0
    # A swept job cannot be started again: its file is gone.
    ImportJob.objects.filter(pk=old.pk).update(status=ImportJob.Status.UPLOADED)
    old.refresh_from_db()
    with pytest.raises(ValidationFailed) as info:
        services.import_job_start(actor=org.sales_bj, job=old, run_inline=True)
    assert "已超过保留期" in str(info.value.message)


def test_running_and_queued_jobs_keep_their_files(org):
    running = _job(org.sales_bj, days_ago=40, start=False)
    queued = _job(org.sales_bj, days_ago=40, start=False)
    ImportJob.objects.filter(pk=running.pk).update(status=ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=queued.pk).update(status=ImportJob.Status.QUEUED)
    assert services.import_files_sweep().jobs == 0
    running.refresh_from_db()
    assert _stored(running) == [True, False]


def test_the_retention_period_is_policy(org):
    job = _job(org.sales_bj, days_ago=10)
    assert services.import_files_sweep().jobs == 0
    policy_set(actor=org.admin, values={"customers.import_file_retention_days": 7}, note="缩短")
    assert services.import_files_sweep().jobs == 1
    job.refresh_from_db()
    assert not job.file


def test_the_sweep_command_for_cron(org):
    _job(org.sales_bj, days_ago=31)
    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert "清理导入任务 1 个，删除文件 2 个" in out.getvalue()
    out = io.StringIO()
    call_command("sweep", "--only", "import-files", stdout=out)
    assert "清理导入任务 0 个，删除文件 0 个" in out.getvalue()
