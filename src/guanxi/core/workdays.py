"""China's statutory working-day calendar (with 调休 make-up days) plus company overrides.

The statutory part comes from the `chinesecalendar` package; a company may override any
date (e.g. an internal holiday) with a WorkdayOverride row.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar


def is_workday(day: dt.date) -> bool:
    from guanxi.core.models import WorkdayOverride

    override = WorkdayOverride.objects.filter(date=day).values_list("is_workday", flat=True).first()
    if override is not None:
        return bool(override)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Years the library does not cover yet: fall back to Monday–Friday.
        return day.weekday() < 5


def add_workdays(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (start itself not counted)."""
    from guanxi.core.models import WorkdayOverride

    horizon = start + dt.timedelta(days=days * 3 + 30)
    overrides = dict(
        WorkdayOverride.objects.filter(date__gt=start, date__lte=horizon).values_list(
            "date", "is_workday"
        )
    )
    current, remaining = start, days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current in overrides:
            working = overrides[current]
        else:
            try:
                working = chinese_calendar.is_workday(current)
            except NotImplementedError:
                working = current.weekday() < 5
        if working:
            remaining -= 1
    return current
