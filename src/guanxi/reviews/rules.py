"""Policy rules of this capability, declared with policy.registry.rule (imported by the
registry, so they are part of REGISTRY and of docs/policies.md).

- reviews.cycle_window: when the annual review (年度评定) takes place and which year's grades
  it sets.
- reviews.key_grades: the grades listed on 《年度重要顾客一览表》.
- reviews.provisional_months: a new customer's grade is provisional until reviewed this many
  months after filing.
- reviews.elimination_grades / reviews.elimination_years: a customer whose grade stays in
  these grades this long is an elimination candidate (C not raised to B within 3 years).
- reviews.treatment_raise: which grades may apply for which grade's treatment, and for how
  long an approved application lasts.
- reviews.growth_min_base / reviews.growth_ranking_size: the year-on-year growth ranking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError

from guanxi.policy.registry import _is_decimal, rule

APPLIES_TO = ("next_year", "same_year")


def month_day(text: str) -> tuple[int, int]:
    """'12-25' → (12, 25); raises ValueError for anything else."""
    month, day = (int(part) for part in text.split("-"))
    dt.date(2024, month, day)  # a leap year, so 02-29 is a valid window day
    return month, day


def _window(value: Any) -> None:
    for key in ("start", "end"):
        try:
            month_day(str(value.get(key, "")))
        except ValueError:
            raise ValidationError(f"{key} 应为“月-日”，如 12-25。") from None
    if month_day(value["start"]) > month_day(value["end"]):
        raise ValidationError("评定开始日期不能晚于结束日期（同一年内）。")
    if value.get("applies_to", "next_year") not in APPLIES_TO:
        raise ValidationError("applies_to 应为 next_year（评定下一年度）或 same_year（评定当年）。")


def _grade_codes(value: Any) -> None:
    if not value or not all(isinstance(code, str) and code for code in value):
        raise ValidationError('应为非空的等级代码列表，如 ["A"]。')


def _positive(value: Any) -> None:
    if value <= 0:
        raise ValidationError("必须为正整数。")


def _raise(value: Any) -> None:
    _grade_codes(value.get("from_grades"))
    target = value.get("to_grade")
    if not isinstance(target, str) or not target:
        raise ValidationError("to_grade 应为等级代码，如 A。")
    if target in value["from_grades"]:
        raise ValidationError("to_grade 不能同时出现在 from_grades 中。")
    months = value.get("valid_months")
    if not isinstance(months, int) or isinstance(months, bool) or months <= 0:
        raise ValidationError("valid_months 应为正整数（批准后有效的月数）。")


def _non_negative_decimal(value: Any) -> None:
    if not _is_decimal(value) or float(value) < 0:
        raise ValidationError("应为不小于0的金额。")


rule(
    key="reviews.cycle_window",
    kind="dict",
    default={"start": "12-25", "end": "12-30", "applies_to": "next_year"},
    label="年度评定时间窗口",
    help="每年一次综合评定的日期（月-日）：默认12月25日至30日完成，评定结果用于下一年度"
    "（applies_to=next_year）；若公司在年初评定（如3月25–30日），设 applies_to=same_year。"
    "管理员开启评定时以此为默认起止日期。",
    example={"start": "03-25", "end": "03-30", "applies_to": "same_year"},
    check=_window,
)
rule(
    key="reviews.key_grades",
    kind="list",
    default=["A"],
    label="年度重要顾客等级",
    help="总经理批准年度评定后，最终等级属于这些等级的客户列入《年度重要顾客一览表》。",
    example=["A", "B"],
    check=_grade_codes,
)
rule(
    key="reviews.provisional_months",
    kind="int",
    default=6,
    label="新客户暂定等级复评期（月）",
    help="新合作客户先按评分给出暂定等级，建档满此月数后须复评确认（列入“待复评”名单，"
    "直到年度评定生效或单独复评确认）。",
    example=3,
    check=_positive,
)
rule(
    key="reviews.elimination_grades",
    kind="list",
    default=["C"],
    label="淘汰观察等级",
    help="等级一直处于这些等级、在 reviews.elimination_years 年内未升级的客户列入年度淘汰候选名单"
    "（默认：C类客户三年内未升为B类）。",
    example=["C", "D"],
    check=_grade_codes,
)
rule(
    key="reviews.elimination_years",
    kind="int",
    default=3,
    label="淘汰观察期（年）",
    help="客户等级连续处于淘汰观察等级满此年数（自建档或上次处于更高等级起算）即列为淘汰候选。",
    example=2,
    check=_positive,
)
rule(
    key="reviews.treatment_raise",
    kind="dict",
    default={"from_grades": ["B", "C"], "to_grade": "A", "valid_months": 12},
    label="申请享受高等级待遇",
    help="from_grades 等级的客户（价格高、付款好的订单）可申请享受 to_grade 等级的待遇，"
    "经销售总监或总经理批准后在 valid_months 个月内有效；等级驱动的拜访频次、服务等级和"
    "接待标准按 to_grade 执行。",
    example={"from_grades": ["B"], "to_grade": "A", "valid_months": 6},
    check=_raise,
)
rule(
    key="reviews.growth_min_base",
    kind="decimal",
    default="10000",
    label="增长排名最低基数（元）",
    help="按同比增长率排名时，前12个月出货额低于此金额的客户不参加排名（避免基数过小导致增长率失真）。",
    example="50000",
    check=_non_negative_decimal,
)
rule(
    key="reviews.growth_ranking_size",
    kind="int",
    default=50,
    label="增长排名显示数量",
    help="“增长最快客户”排名显示的客户数。",
    example=20,
    check=_positive,
)
