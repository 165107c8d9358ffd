"""Reading an uploaded spreadsheet: .xlsx (python-calamine) or .csv (UTF-8 with or without
BOM, else GB18030, the superset of GBK that Chinese Excel writes).

The header row is the first of the top rows in which at least two cells are known headers
(a title such as "客户统计表" may sit above it). Rows are numbered as the spreadsheet shows
them (1 = first line), blank rows are skipped but keep their number.

Memory: CSV is streamed; calamine holds one worksheet's cells (about 150 MB for 100,000
rows of 13 columns) while it is read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine
from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed
from guanxi.customers.imports.columns import header_score

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
HEADER_SCAN_ROWS = 10
_ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(ValidationFailed):
    code = "unreadable_file"


def detect_encoding(path: Path) -> str:
    """utf-8-sig if the whole file decodes as UTF-8, else gb18030 (which decodes GBK)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def cell_text(value: Any) -> str:
    """One cell as text: whole floats lose their ".0" (phones, postcodes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class Sheet:
    path: Path
    kind: str  # "xlsx" | "csv"
    encoding: str = ""
    header_row: int = 0  # spreadsheet row number of the header (1-based); 0 = none found
    headers: list[str] = field(default_factory=list)
    _calamine: Any = field(default=None, repr=False)

    def _raw_rows(self) -> Iterator[list[Any]]:
        if self.kind == "csv":
            with open(self.path, encoding=self.encoding, newline="") as handle:
                yield from csv.reader(handle)
            return
        if self._calamine is None:
            workbook = python_calamine.CalamineWorkbook.from_path(str(self.path))
            # Loaded once per Sheet (header scan, count, rows): the cells stay in calamine.
            self._calamine = workbook.get_sheet_by_index(0)
        # Rows come from the top of the sheet; columns from the first used one.
        yield from self._calamine.iter_rows()

    def _body(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) of the rows under the header, cut to its width."""
        width = len(self.headers)
        for number, cells in enumerate(self._raw_rows(), start=1):
            if number > self.header_row:
                yield number, cells[:width]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {header: text}) for each non-blank row under the header."""
        headers, width = self.headers, len(self.headers)
        for number, cells in self._body():
            # cell_text, with the commonest case (text) inline.
            texts = [c.strip() if c.__class__ is str else cell_text(c) for c in cells]
            if not any(texts):
                continue
            if len(texts) < width:
                texts += [""] * (width - len(texts))
            yield number, dict(zip(headers, texts, strict=True))

    def count(self) -> int:
        """The number of rows rows() yields."""
        return sum(
            1
            for _number, cells in self._body()
            if any(c.strip() if c.__class__ is str else cell_text(c) for c in cells)
        )


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for index, header in enumerate(headers, start=1):
        text = header or _("第%(n)s列") % {"n": index}
        seen[text] = seen.get(text, 0) + 1
        result.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return result


def open_sheet(path: str | Path, original_name: str) -> Sheet:
    """Open the file and find its header row; refuses what cannot be read."""
    path = Path(path)
    suffix = Path(original_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(
            _("只能导入 Excel（.xlsx）或 CSV 文件。"),
            detail={"file": [_("只能导入 Excel（.xlsx）或 CSV 文件。")]},
        )
    sheet = Sheet(path=path, kind="csv" if suffix == ".csv" else "xlsx")
    try:
        if sheet.kind == "csv":
            sheet.encoding = detect_encoding(path)
        top = []
        for cells in sheet._raw_rows():
            top.append([cell_text(c) for c in cells])
            if len(top) >= HEADER_SCAN_ROWS:
                break
    except (OSError, UnicodeDecodeError, csv.Error, python_calamine.CalamineError) as exc:
        raise UnreadableFile(
            _("无法读取该文件，请确认它是 Excel（.xlsx）或 CSV 文件。"),
            detail={"file": [str(exc)]},
        ) from None
    best, best_score = None, 0
    for index, cells in enumerate(top):
        score = header_score(cells)
        if score > best_score and score >= 2:
            best, best_score = index, score
            break
    if best is None:
        # Nothing recognised: take the first non-blank row and let the user map it.
        best = next((i for i, cells in enumerate(top) if any(cells)), None)
    if best is None:
        raise UnreadableFile(_("文件是空的。"), detail={"file": [_("文件是空的。")]})
    cells = top[best]
    while cells and not cells[-1]:
        cells = cells[:-1]
    sheet.header_row = best + 1
    sheet.headers = _unique(cells)
    return sheet
