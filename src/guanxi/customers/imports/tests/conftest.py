"""Fixtures of the import/export tests: files in a temporary media folder, tasks run at
once, and small spreadsheet helpers (read back with python-calamine)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.customers.imports.sample import write_xlsx
from guanxi.customers.models import Industry, Region

STATISTICS = ["序号", "客户", "分支机构", "主要负责人", "联系方式", "合作状态", "表示颜色"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return tmp_path / "media"


@pytest.fixture
def reference(db):
    class Reference:
        north = Region.objects.create(name="华北", code="north", sort_order=1)
        east = Region.objects.create(name="华东", code="east", sort_order=2)
        building = Industry.objects.create(name="建材")
        logistics = Industry.objects.create(name="物流")

    return Reference


def xlsx_bytes(headers: list[str], rows: list[list[Any]], *, title: str = "") -> bytes:
    output = io.BytesIO()
    write_xlsx(output, headers, rows, title=title)
    return output.getvalue()


def xlsx_upload(headers: list[str], rows: list[list[Any]], name: str = "客户.xlsx", **kw: Any):
    return SimpleUploadedFile(name, xlsx_bytes(headers, rows, **kw))


def csv_bytes(headers: list[str], rows: list[list[Any]], *, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def read_xlsx(data: bytes | str, sheet: int = 0) -> list[list[Any]]:
    """Cells of one worksheet as text (whole numbers without .0)."""
    if isinstance(data, bytes):
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    else:
        workbook = python_calamine.CalamineWorkbook.from_path(data)
    rows = workbook.get_sheet_by_index(sheet).to_python()
    return [
        [str(int(c)) if isinstance(c, float) and c.is_integer() else str(c) for c in row]
        for row in rows
    ]


def cell_fills(data: bytes, column: str) -> dict[int, str]:
    """Row number → fill colour (RRGGBB) of the cells of one column, from the sheet XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        styles = archive.read("xl/styles.xml").decode()
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    fills_xml = re.search(r"<fills[^>]*>(.*?)</fills>", styles, re.S).group(1)
    fills = []
    for fill in re.findall(r"<fill>(.*?)</fill>", fills_xml):
        colour = re.search(r'<fgColor rgb="([0-9A-Fa-f]+)"', fill)
        fills.append(colour.group(1)[-6:].upper() if colour else "")
    xfs_xml = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)
    xf_fill = [int(m.group(1)) for m in re.finditer(r"<xf [^>]*fillId=\"(\d+)\"", xfs_xml)]
    found = {}
    for m in re.finditer(rf"<c r=\"{column}(\d+)\"(?: s=\"(\d+)\")?", sheet):
        style = int(m.group(2) or 0)
        found[int(m.group(1))] = fills[xf_fill[style]] if style < len(xf_fill) else ""
    return found
