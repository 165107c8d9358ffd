"""`python -m guanxi sweep`: the periodic clean-up sweeps, for cron (the django-tasks
worker has no scheduler). Idempotent; run it e.g. hourly:

    17 * * * *  cd /srv/guanxi && .venv/bin/python -m guanxi sweep

Sweeps:
    import-files   uploaded import files and error reports older than
                   customers.import_file_retention_days (customers.imports.services)
    credit         the credit sweeper (`credit-sweep`): quarterly proposal rounds,
                   approval escalations, due re-ratings, investigations
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SWEEPS = ("import-files", "credit")


class Command(BaseCommand):
    help = "定期清理：删除超过保留期的导入文件等（可由 cron 定时调用，可重复执行）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only", choices=SWEEPS, action="append", help="只运行指定的清理（可重复）。"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command

        from guanxi.customers.imports.services import import_files_sweep

        chosen = options["only"] or SWEEPS
        if "import-files" in chosen:
            report = import_files_sweep()
            self.stdout.write(
                f"import-files: 清理导入任务 {report.jobs} 个，删除文件 {report.files} 个，"
                f"释放 {report.bytes} 字节。"
            )
        if "credit" in chosen:
            call_command("credit_sweep", stdout=self.stdout)
