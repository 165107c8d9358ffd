"""python -m guanxi export-customers --user USERNAME [--layout statistics] -o FILE.xlsx

Exports the customers USERNAME may see (optionally filtered) to .xlsx, within their export
limit (customers.export_max_rows) and audited, like the list page's export.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from guanxi.audit.context import AuditContext, using
from guanxi.core.errors import DomainError
from guanxi.customers.imports import export
from guanxi.customers.models import Region, Tag
from guanxi.org.models import User


class Command(BaseCommand):
    help = "把用户可见的客户导出为 Excel（.xlsx）；--layout statistics 为客户统计表。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--user", required=True, help="以该用户的身份和数据范围导出")
        parser.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")
        parser.add_argument("--layout", choices=export.LAYOUTS, default="full")
        parser.add_argument("--search", default="", help="与客户列表相同的搜索")
        parser.add_argument("--customer-type", default="", help="客户类型代码")
        parser.add_argument("--region", default="", help="区域代码")
        parser.add_argument("--owner", default="", help="负责人用户名")
        parser.add_argument("--tag", action="append", default=[], help="标签名称，可重复")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"没有名为 {options['user']} 的有效用户。")
        filters: dict[str, Any] = {"search": options["search"]}
        if options["customer_type"]:
            filters["customer_type"] = options["customer_type"]
        if options["region"]:
            region = Region.objects.filter(code=options["region"]).first()
            filters["region_id"] = region.pk if region else 0
        if options["owner"]:
            owner = User.objects.filter(username=options["owner"]).first()
            filters["owner_id"] = owner.pk if owner else 0
        if options["tag"]:
            ids = dict(Tag.objects.filter(name__in=options["tag"]).values_list("name", "pk"))
            filters["tag_ids"] = [ids.get(name, 0) for name in options["tag"]]
        summary = {
            key: options[key]
            for key in ("search", "customer_type", "region", "owner", "tag")
            if options[key]
        }
        bar = tqdm(unit="行", file=sys.stderr, disable=options["no_progress"])

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with bar, using(AuditContext(source="cli")):
            try:
                count = export.customer_export(
                    actor=user,
                    output=options["output"],
                    layout=options["layout"],
                    filters=filters,
                    summary=summary,
                    progress=progress,
                )
            except DomainError as exc:
                raise CommandError(str(exc.message), returncode=1) from None
        self.stdout.write(f"已导出 {count} 位客户到 {options['output']}")
