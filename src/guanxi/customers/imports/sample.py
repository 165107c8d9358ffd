"""Realistic spreadsheets for the benchmark and the tests: the demo company's generator
(customers.demo) written as a 客户统计表 with the archive columns beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from django.utils import timezone

from guanxi import policy
from guanxi.customers.demo.generator import DemoGenerator
from guanxi.customers.imports.rows import COLOUR_NAMES

SAMPLE_HEADERS = [
    "序号", "客户", "统一社会信用代码", "分支机构", "主要负责人", "联系人", "联系方式",
    "合作状态", "表示颜色", "区域", "行业", "客户类型", "法定代表人", "注册资本", "地址", "邮编",
    "电话", "邮箱", "网址", "标签", "备注",
]  # fmt: skip


def sample_rows(
    count: int,
    *,
    seed: int = 3,
    taken_names: set[str] | None = None,
    taken_credit_codes: set[str] | None = None,
) -> Iterator[list[Any]]:
    """`count` valid rows for the demo company's organisation (seed-demo)."""
    ladder = {e["code"]: e["label"] for e in policy.get("cooperation.ladder")}
    types = {e["code"]: e["label"] for e in policy.get("customers.types")}

    def codes(key: str) -> list[str]:
        return [entry["code"] for entry in policy.get(key)]

    generator = DemoGenerator(
        seed=seed,
        now=timezone.now() - dt.timedelta(days=1),
        codes={
            "types": codes("customers.types"),
            "grades": codes("grading.bands"),
            "statuses": codes("cooperation.ladder"),
            "credit_levels": codes("credit.levels"),
        },
        taken_names=taken_names,
        taken_credit_codes=taken_credit_codes,
    )
    for number in range(1, count + 1):
        plan = generator.customer()
        contact = plan.contacts[0] if plan.contacts else None
        yield [
            number,
            plan.name,
            plan.credit_code,
            plan.branch,
            plan.owner,
            contact.name if contact else "",
            (contact.mobile or contact.phone) if contact else "",
            ladder.get(plan.cooperation_status, ""),
            COLOUR_NAMES.get(plan.cooperation_status, ""),
            plan.region,
            plan.industry or "",
            types.get(plan.customer_type, ""),
            plan.legal_representative,
            str(plan.registered_capital) if plan.registered_capital is not None else "",
            plan.address,
            plan.postcode,
            plan.phone,
            plan.email,
            plan.website,
            "、".join(plan.tags),
            plan.notes,
        ]


def write_xlsx(
    output: str | Path | IO[bytes], headers: list[str], rows: Any, *, title: str = ""
) -> None:
    """A one-sheet workbook; `title` (e.g. "客户统计表") goes on a line above the header."""
    workbook = xlsxwriter.Workbook(
        str(output) if isinstance(output, Path) else output,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet()
    first = 0
    if title:
        sheet.write(0, 0, title)
        first = 1
    sheet.write_row(first, 0, headers)
    for index, row in enumerate(rows, start=first + 1):
        sheet.write_row(index, 0, row)
    workbook.close()
