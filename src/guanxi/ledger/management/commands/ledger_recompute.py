"""`python -m guanxi ledger-recompute [--rate]`: rebuild every customer's running balance
and monthly sums from the ledger rows (set-based) and report drift; with --rate also
re-rate every customer's credit level (credit.rating_rules)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from guanxi.ledger import recompute


class Command(BaseCommand):
    help = "按出货回款明细重算全部客户的应收余额与月度汇总（并可重新评定资信等级）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", action="store_true", help="同时重新评定全部客户的资信等级。")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        result = recompute.rebuild_balances()
        self.stdout.write(
            f"余额重算：{result['customers']:,} 个客户，余额偏差 {result['drift']:,} 个，"
            f"月度汇总偏差 {result['months']:,} 条；用时 {time.monotonic() - started:.1f} 秒。"
        )
        if options["rate"]:
            from guanxi.credit.services import credit_rate_all

            started = time.monotonic()
            rated = credit_rate_all(only_due=False)
            self.stdout.write(
                f"资信评定：{rated:,} 个客户；用时 {time.monotonic() - started:.1f} 秒。"
            )
