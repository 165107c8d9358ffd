"""The status ladder in force (policy cooperation.ladder): best first, so a higher index
is a worse status. Periods for counting upgrades (cooperation.upgrade_period) and the
month of the monthly update. Pure helpers: no writes, no scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from guanxi import policy

# Names of the default colours for the 表示颜色 column (the seeds' 绿色/蓝色/…); a company
# ladder entry may carry its own "colour_name".
COLOUR_NAMES = {
    "green": "绿色",
    "blue": "蓝色",
    "yellow": "黄色",
    "white": "白色",
    "black": "黑色",
}


@dataclass(frozen=True)
class Step:
    code: str
    label: str
    colour: str
    meaning: str
    plan: str
    colour_name: str
    index: int

    @property
    def text_colour(self) -> str:
        """Black or white text, whichever reads on the step's colour."""
        value = self.colour.lstrip("#")
        if len(value) == 3:
            value = "".join(c * 2 for c in value)
        try:
            r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            return "#000"
        return "#000" if (r * 299 + g * 587 + b * 114) / 1000 > 150 else "#fff"


class Ladder:
    """The ladder at a moment: steps by code and their order."""

    def __init__(self, entries: list[dict[str, Any]]):
        self.steps = [
            Step(
                code=e["code"],
                label=e["label"],
                colour=e.get("colour", "#6c757d"),
                meaning=e.get("meaning", ""),
                plan=e.get("plan", ""),
                colour_name=e.get("colour_name") or COLOUR_NAMES.get(e["code"], ""),
                index=i,
            )
            for i, e in enumerate(entries)
        ]
        self.by_code = {step.code: step for step in self.steps}

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def __iter__(self) -> Any:
        return iter(self.steps)

    def get(self, code: str) -> Step | None:
        return self.by_code.get(code)

    def index(self, code: str) -> int | None:
        step = self.by_code.get(code)
        return step.index if step is not None else None

    def label(self, code: str) -> str:
        step = self.by_code.get(code)
        return step.label if step is not None else code

    def choices(self) -> list[tuple[str, str]]:
        return [(step.code, step.label) for step in self.steps]


def ladder_at(at: dt.datetime | None = None) -> Ladder:
    return Ladder(policy.get("cooperation.ladder", at=at))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def period_start(period: str, day: dt.date) -> dt.date:
    """First day of the month, quarter or year containing `day`."""
    if period == "year":
        return day.replace(month=1, day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(day=1)


def period_end(period: str, start: dt.date) -> dt.date:
    """First day of the next period (exclusive end)."""
    months = {"year": 12, "quarter": 3}.get(period, 1)
    end = start
    for _ in range(months):
        end = next_month(end)
    return end


def period_label(period: str, start: dt.date) -> str:
    if period == "year":
        return f"{start.year}年"
    if period == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年{start.month}月"


def local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
