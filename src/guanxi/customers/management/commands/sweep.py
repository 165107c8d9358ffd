"""`python -m guanxi sweep`: the periodic clean-up sweeps, for cron (the django-tasks
worker has no scheduler). Idempotent; run it e.g. hourly:

    17 * * * *  cd /srv/guanxi && .venv/bin/python -m guanxi sweep

Sweeps:
    import-files   uploaded import files and error reports older than
                   customers.import_file_retention_days (customers.imports.services)
    credit         the credit sweeper (`credit-sweep`): quarterly proposal rounds,
                   approval escalations, due re-ratings, investigations
    search         upkeep of the search and list plans (customers.search.maintenance):
                   planner statistics, and on SQLite the FTS5 index merged into one
                   segment. Seconds at a million customers, holding the write lock on
                   SQLite: not hourly but nightly, on its own:

    40 3 * * *  cd /srv/guanxi && .venv/bin/python -m guanxi sweep --only search
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SWEEPS = ("import-files", "credit", "search")
# What a plain `sweep` (hourly) runs; the others only when named with --only.
HOURLY = ("import-files", "credit")


class Command(BaseCommand):
    help = "定期清理：删除超过保留期的导入文件等（可由 cron 定时调用，可重复执行）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            choices=SWEEPS,
            action="append",
            help="只运行指定的清理（可重复）；search 不在默认的每小时清理中，宜每晚单独运行。",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command

        from guanxi.customers.imports.services import import_files_sweep
        from guanxi.customers.search.maintenance import upkeep

        chosen = options["only"] or HOURLY
        if "import-files" in chosen:
            report = import_files_sweep()
            self.stdout.write(
                f"import-files: 清理导入任务 {report.jobs} 个，删除文件 {report.files} 个，"
                f"释放 {report.bytes} 字节。"
            )
        if "credit" in chosen:
            call_command("credit_sweep", stdout=self.stdout)
        if "search" in chosen:
            started = time.monotonic()
            upkeep()
            self.stdout.write(
                f"search: 已更新查询统计并整理检索索引，用时 {time.monotonic() - started:.1f} 秒。"
            )
