"""python -m guanxi import-customers FILE --user USERNAME [--valid-only] [--report PATH]

Imports customers from an .xlsx or .csv file as USERNAME (their data scope and
permissions), through the same import service as the page and the API. Exit status 0 when
the import was committed, 1 when it was refused (or failed); --report writes the per-row
error report (.xlsx, empty when there were no errors). Progress on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from guanxi.audit.context import AuditContext, using
from guanxi.core.errors import DomainError
from guanxi.customers.imports import services
from guanxi.customers.imports.models import ImportJob, ImportMapping
from guanxi.customers.imports.report import write_report
from guanxi.org.models import User


def _errors_text(exc: DomainError) -> str:
    details = [
        f"{field}: {message}"
        for field, messages in exc.detail.items()
        if isinstance(messages, list)
        for message in messages
    ]
    return "；".join([str(exc.message), *details])


class Command(BaseCommand):
    help = "从 Excel（.xlsx）或 CSV 文件导入客户，以指定用户的身份和数据范围执行。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help=".xlsx 或 .csv 文件")
        parser.add_argument("--user", required=True, help="以该用户的身份导入（用户名）")
        parser.add_argument(
            "--valid-only", action="store_true", help="仅导入有效行（默认：有错误则全部不导入）"
        )
        parser.add_argument("--report", help="把逐行错误报告写入此 .xlsx 文件")
        parser.add_argument("--mapping", help="使用该用户保存的列对应方案（名称）")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"没有名为 {options['user']} 的有效用户。")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        mapping_id = None
        if options["mapping"]:
            saved = ImportMapping.objects.filter(created_by=user, name=options["mapping"]).first()
            if saved is None:
                raise CommandError(
                    f"用户 {user.username} 没有名为 {options['mapping']} 的列对应方案。"
                )
            mapping_id = saved.pk
        with using(AuditContext(source="import")):
            try:
                with open(path, "rb") as handle:
                    job = services.import_job_create(
                        actor=user,
                        file=File(handle, name=path.name),
                        valid_only=options["valid_only"],
                        mapping_id=mapping_id,
                    )
                bar = tqdm(
                    total=job.total_rows,
                    unit="行",
                    file=sys.stderr,
                    disable=options["no_progress"],
                    desc=path.name,
                )
                with bar:
                    job = services.import_job_start(
                        actor=user,
                        job=job,
                        run_inline=True,
                        progress=lambda done: bar.update(done - bar.n),
                    )
            except DomainError as exc:
                raise CommandError(_errors_text(exc), returncode=1) from None
        if options["report"]:
            target = Path(options["report"])
            if job.report:
                with job.report.open("rb") as report:
                    target.write_bytes(report.read())
            else:
                target.write_bytes(write_report([], [], {}))
        self.stdout.write(job.message)
        if job.status != ImportJob.Status.COMMITTED:
            raise CommandError(f"未导入：{job.get_status_display()}", returncode=1)
