"""`python -m guanxi bench [--customers 1000000] [--quick]` (also `make bench`).

Generates the benchmark data (the demo company at scale) into separate databases — SQLite
under var/bench/ and, if the server answers, PostgreSQL `guanxi_bench` — runs every metric
and writes var/bench/results.json (a list of {"metric", "value", "unit", "db", "target"},
plus details) and var/bench/results.md. --quick runs everything at 20,000 customers.
Speed is measured here, never asserted in tests. See customers.search.bench.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

DATABASES = ("sqlite", "postgresql")


class Command(BaseCommand):
    help = "性能基准：生成基准数据（SQLite 与 PostgreSQL），测量各项指标，写入 var/bench/results.json 与 results.md。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers", type=int, default=None, help="客户数量（默认 1,000,000）。"
        )
        parser.add_argument(
            "--quick", action="store_true", help="冒烟运行：20,000 个客户、较短的测量。"
        )
        parser.add_argument(
            "--db", choices=[*DATABASES, "all"], default="all", help="只测一种数据库。"
        )
        parser.add_argument(
            "--metric", action="append", dest="metrics", help="只测指定指标（可重复）。"
        )
        parser.add_argument("--fresh", action="store_true", help="删除并重新生成基准数据库。")
        parser.add_argument("--prepare", action="store_true", help="只生成基准数据，不测量。")
        parser.add_argument(
            "--repeat", type=int, default=3, help="每项指标的测量轮数（取中位数，默认 3）。"
        )
        # Internal: one database, run in a child process by the parent.
        parser.add_argument("--child", choices=DATABASES, help="(internal)")
        parser.add_argument(
            "--scale", choices=["archive", "empty"], default="archive", help="(internal)"
        )
        parser.add_argument("--output", type=Path, help="(internal)")

    def handle(self, *args: Any, **options: Any) -> None:
        from guanxi.customers.search.bench import runner
        from guanxi.customers.search.bench.metrics import METRICS

        names = {m.name for m in METRICS}
        unknown = sorted(set(options["metrics"] or []) - names)
        if unknown:
            raise CommandError(
                f"未知指标：{', '.join(unknown)}（可用：{', '.join(sorted(names))}）"
            )
        customers = options["customers"] or (runner.QUICK if options["quick"] else runner.FULL)
        if customers < 100:
            raise CommandError("--customers 至少为 100。")
        if options["repeat"] < 1:
            raise CommandError("--repeat 至少为 1。")
        if options["child"]:
            if options["output"] is None:
                raise CommandError("--child 需要 --output。")
            runner.run_child(
                db=options["child"],
                scale=options["scale"],
                customers=customers,
                quick=options["quick"],
                repeat=options["repeat"],
                metrics=options["metrics"],
                output=options["output"],
                prepare=options["prepare"],
                out=cast(TextIO, self.stdout),  # an OutputWrapper is a text stream
            )
            return
        databases = list(DATABASES) if options["db"] == "all" else [options["db"]]
        started = timezone.now()
        load_before = os.getloadavg()[0]
        results = runner.run(
            customers=customers,
            quick=options["quick"],
            databases=databases,
            metrics=options["metrics"],
            fresh=options["fresh"],
            repeat=options["repeat"],
            prepare=options["prepare"],
            out=cast(TextIO, self.stdout),
        )
        if options["prepare"]:
            return
        elapsed = (timezone.now() - started).total_seconds()
        meta = {
            "when": timezone.localtime(started).strftime("%Y-%m-%d %H:%M"),
            "customers": customers,
            "quick": options["quick"],
            "repeat": options["repeat"],
            "load": f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
            "machine": f"{os.cpu_count()} CPU, {platform.python_implementation()} "
            f"{platform.python_version()}, {dt.timedelta(seconds=int(elapsed))} in all",
        }
        json_path, md_path = runner.write_results(results, meta=meta)
        self.stdout.write(self.style.SUCCESS(f"结果已写入 {json_path} 和 {md_path}"))
        self.stdout.write(md_path.read_text())
