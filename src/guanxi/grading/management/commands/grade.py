"""`python -m guanxi grade`: compute every customer's grade now (grading.services.grading_run,
the same function the background task and the page use), with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from guanxi.grading.services import CHUNK, grading_run


class Command(BaseCommand):
    help = "按当前评分模型计算全部客户的等级（集合运算，分批写入）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=CHUNK, help="每批客户ID范围大小")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        with tqdm(total=0, unit="批", desc="评级", disable=options["no_progress"]) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            run = grading_run(progress=progress, chunk=options["chunk"])
        distribution = "，".join(f"{code} {n:,}" for code, n in run.distribution.items())
        self.stdout.write(
            f"评级批次 #{run.pk}：{run.graded:,} 个客户，等级变化 {run.changed:,} 个"
            f"（{distribution}），策略版本 v{run.policy_version}；"
            f"用时 {time.monotonic() - started:.1f} 秒。"
        )
