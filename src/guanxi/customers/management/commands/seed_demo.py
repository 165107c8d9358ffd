"""`python -m guanxi seed-demo [--customers N] [--seed S] [--if-empty]`: a demo company.

`make demo` runs it with --if-empty, so an existing database is left alone. Without
--if-empty, running it again on the demo database adds N more customers.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guanxi.customers import demo
from guanxi.org.models import User


class Command(BaseCommand):
    help = "生成演示公司：部门、全部9个角色的用户、参考数据和客户档案（同一种子结果相同）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=demo.DEFAULT_CUSTOMERS,
            help=f"生成的客户数量（默认 {demo.DEFAULT_CUSTOMERS}）。",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help=f"随机种子（默认 {demo.DEFAULT_SEED}）。",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="数据库中已有用户时什么也不做。"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["customers"]
        if count < 0:
            raise CommandError("--customers 不能为负数。")
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("数据库中已有用户，未生成演示数据（--if-empty）。")
            return
        started = time.monotonic()
        self.stdout.write(f"正在生成演示数据：{count:,} 个客户，随机种子 {options['seed']} …")

        def progress(done: int, total: int) -> None:
            if total > demo.BATCH_SIZE:
                elapsed = time.monotonic() - started
                self.stdout.write(
                    f"  客户 {done:,}/{total:,}（{done * 100 // total}%），已用 {elapsed:.1f} 秒"
                )
                self.stdout.flush()

        try:
            summary = demo.seed_demo(customers=count, seed=options["seed"], progress=progress)
        except demo.DemoError as exc:
            raise CommandError(str(exc.message)) from exc
        # A year and a half of shipments and payments for the demo customers (issue 4).
        from guanxi.ledger.demo import seed_ledger_demo

        seed_ledger_demo()
        # A year of monthly cooperation-status history, special reviews included (issue 5).
        from guanxi.cooperation.demo import seed_cooperation_demo

        seed_cooperation_demo()
        # Scores and breakdowns for every demo customer (their grades were set by the demo
        # company's last annual review; grading.batch_sets_grade keeps them).
        from guanxi.grading.services import grading_run

        grading_run()
        elapsed = time.monotonic() - started
        what = "追加到现有演示公司" if summary.appended else "新建演示公司"
        self.stdout.write(
            self.style.SUCCESS(
                f"完成（{what}）：部门 {summary.departments}，用户 {summary.users}，"
                f"客户 {summary.customers:,}，联系人 {summary.contacts:,}，联系人关系 {summary.relations:,}，"
                f"特殊日期 {summary.special_dates:,}，审计记录 {summary.audit_events:,}；用时 {elapsed:.1f} 秒。"
            )
        )
        if not summary.appended:
            self.stdout.write("登录账号：python -m guanxi print-demo-logins")
