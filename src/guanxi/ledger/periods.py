"""Months, quarters and half-years in the company's time zone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_first_day(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * (quarter - 1) + 1, 1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def quarter_last_day(year: int, quarter: int) -> dt.date:
    ny, nq = next_quarter(year, quarter)
    return quarter_first_day(ny, nq) - dt.timedelta(days=1)


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def next_quarter_start(at: dt.datetime) -> dt.datetime:
    """The moment the quarter after the one containing `at` begins."""
    year, quarter = quarter_of(timezone.localtime(at).date())
    return start_of_day(quarter_first_day(*next_quarter(year, quarter)))


def in_last_month_of_quarter(day: dt.date) -> bool:
    return day.month % 3 == 0


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def shift_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (negative: earlier), clamped to the month's last day."""
    first = add_months(day, months)
    following = add_months(first, 1)
    return first.replace(day=min(day.day, (following - dt.timedelta(days=1)).day))
