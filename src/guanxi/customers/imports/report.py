"""The per-row error report of an import, as an .xlsx (XlsxWriter).

Sheet 1 "错误明细": 行号 · 列 · 值 · 错误说明, one line per problem, row numbers as the
spreadsheet shows them. Sheet 2 "有误的行": the failing rows as they were, with the
original headers and an 错误说明 column, so they can be corrected and imported again.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

import xlsxwriter
from django.utils.translation import gettext as _


def write_report(errors: list[Any], headers: list[str], failed_rows: dict[int, dict]) -> bytes:
    output = io.BytesIO()
    # strings_to_formulas off: a cell typed "=…" stays text (no formula injection).
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    details = workbook.add_worksheet(_("错误明细"))
    details.freeze_panes(1, 0)
    details.set_column(0, 0, 8)
    details.set_column(1, 2, 22)
    details.set_column(3, 3, 70)
    details.write_row(0, 0, [_("行号"), _("列"), _("值"), _("错误说明")], bold)
    by_row: dict[int, list[str]] = defaultdict(list)
    for index, error in enumerate(errors, start=1):
        details.write_row(
            index,
            0,
            [error.row, error.column or "—", error.value, error.message],
        )
        label = f"{error.column}：" if error.column else ""
        by_row[error.row].append(label + error.message)
    rows = workbook.add_worksheet(_("有误的行"))
    rows.freeze_panes(1, 0)
    rows.write_row(0, 0, [*headers, _("错误说明")], bold)
    rows.set_column(len(headers), len(headers), 60)
    for index, number in enumerate(sorted(failed_rows), start=1):
        cells = failed_rows[number]
        rows.write_row(
            index,
            0,
            [cells.get(h, "") for h in headers] + ["；".join(by_row[number])],
        )
    workbook.close()
    return output.getvalue()
