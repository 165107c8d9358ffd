"""China's statutory calendar with 调休 make-up days, plus company overrides."""

import datetime as dt

from guanxi.core.models import WorkdayOverride
from guanxi.core.workdays import add_workdays, is_workday


def test_national_day_holiday_and_make_up_saturday(db):
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are workdays.
    assert not is_workday(dt.date(2025, 10, 1))
    assert not is_workday(dt.date(2025, 10, 8))
    assert is_workday(dt.date(2025, 9, 28))
    assert is_workday(dt.date(2025, 10, 11))


def test_five_workdays_across_national_day(db):
    # Contact on Tue 30 Sep 2025: workdays after it are 9 Oct, 10 Oct, 11 Oct (make-up
    # Saturday), 13 Oct, 14 Oct.
    assert add_workdays(dt.date(2025, 9, 30), 5) == dt.date(2025, 10, 14)


def test_plain_week(db):
    assert add_workdays(dt.date(2025, 11, 3), 5) == dt.date(2025, 11, 10)


def test_company_override_wins(db):
    WorkdayOverride.objects.create(date=dt.date(2025, 11, 5), is_workday=False, note="公司年会")
    assert not is_workday(dt.date(2025, 11, 5))
    assert add_workdays(dt.date(2025, 11, 3), 5) == dt.date(2025, 11, 11)
    WorkdayOverride.objects.create(date=dt.date(2025, 11, 8), is_workday=True, note="加班")
    assert add_workdays(dt.date(2025, 11, 3), 5) == dt.date(2025, 11, 10)
