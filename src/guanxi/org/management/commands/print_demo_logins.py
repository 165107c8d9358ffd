"""`python -m guanxi print-demo-logins`: the demo accounts and their shared password."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand

from guanxi.customers.demo import DEMO_PASSWORD, demo_users_in_database


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "列出演示账号（用户名、姓名、角色、部门）和演示密码。"

    def handle(self, *args: Any, **options: Any) -> None:
        users = demo_users_in_database()
        if not users:
            self.stdout.write("还没有演示账号。生成演示数据：python -m guanxi seed-demo")
            return
        header = ("用户名", "姓名", "角色", "部门")
        rows = [
            (
                user.username,
                user.name,
                "、".join(group.name for group in user.groups.all()),
                user.department.name if user.department else "",
            )
            for user in users
        ]
        widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
        self.stdout.write("")
        self.stdout.write("演示账号")
        for row in [header, tuple("-" * w for w in widths), *rows]:
            self.stdout.write(
                "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
            )
        self.stdout.write("")
        self.stdout.write(f"所有演示账号的密码：{DEMO_PASSWORD}（如已修改，以修改后的为准）")
        self.stdout.write("系统管理员 admin 可登录管理后台 /admin/。")
        self.stdout.write("")
