"""`python -m guanxi credit-sweep`: the credit sweeper (run it hourly, e.g. from cron).

Idempotent; it only acts and notifies — overdue approvals, due ratings and warning states
are derived at read time whether or not it has run:

- opens the next quarter's proposal round once its window has come (credit.round_open_day);
- escalates pending limit approvals past credit.approval_deadline_days, once each;
- re-rates customers whose rating is older than credit.rating_valid_months;
- opens investigations for customers over or near their limit that have none.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from guanxi.credit import services


class Command(BaseCommand):
    help = "资信定期任务：开启季度额度申报、审批逾期提醒、到期复评资信等级、发起资信调查。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-rating", action="store_true", help="不做到期复评（复评较慢时可单独运行）。"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        opened = services.credit_round_open_due()
        if opened is not None:
            self.stdout.write(f"已开启 {opened} 额度申报，生成建议 {opened.proposals} 条。")
        escalated = services.credit_approvals_escalate()
        self.stdout.write(f"审批逾期提醒：{escalated} 条。")
        if not options["skip_rating"]:
            rated = services.credit_rate_all(only_due=True)
            self.stdout.write(f"到期复评：{rated} 个客户。")
        investigations = services.credit_investigations_sweep()
        self.stdout.write(f"新发起资信调查：{investigations} 项。")
