"""Policy rules of this capability, declared with policy.registry.rule (imported by the
registry, so they are part of REGISTRY and of docs/policies.md).

The ladder itself (cooperation.ladder) is declared in the registry; these are the rules
built on it: the special-review triggers (MISSION §3 "a drop of two levels, at once or in a
row, or straight to white or black"), the period upgrades are counted in, and the monthly
update deadline."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from guanxi.policy.registry import rule

PERIODS = ("month", "quarter", "year")


def _positive(value: Any) -> None:
    if value <= 0:
        raise ValidationError("必须为正数。")


def _at_least_two(value: Any) -> None:
    if value < 2:
        raise ValidationError("至少为2（降一级只需书面解释，不开专题会议）。")


def _day_of_month(value: Any) -> None:
    if not 1 <= value <= 28:
        raise ValidationError("应为1到28之间的日期。")


def _period(value: Any) -> None:
    if value not in PERIODS:
        raise ValidationError("应为 month（月）、quarter（季度）或 year（年）。")


def _status_codes(value: Any) -> None:
    if any(not isinstance(code, str) or not code for code in value):
        raise ValidationError("应为合作状态代码的列表（cooperation.ladder 中的 code）。")


rule(
    key="cooperation.special_review_drop_levels",
    kind="int",
    default=2,
    label="开专题会议的降级级数",
    help="合作状态一次降级或在观察期内累计下降达到此级数（默认连降两级），"
    "为销售总监开专题会议（专题评审）研究原因。",
    example=3,
    check=_at_least_two,
)
rule(
    key="cooperation.special_review_window_days",
    kind="int",
    default=90,
    label="连续降级观察期（天）",
    help="在此天数内多次降级的级数累计计算（如绿→黄→白）；同一客户已有未结束的专题评审时，"
    "不再重复开启。上一次专题评审之前的降级不再累计。",
    example=60,
    check=_positive,
)
rule(
    key="cooperation.special_review_statuses",
    kind="list",
    default=["white", "black"],
    label="直接开专题会议的状态",
    help="降级到这些合作状态（默认直接降至白色或黑色）时，无论降了几级都开专题会议。",
    example=["black"],
    check=_status_codes,
)
rule(
    key="cooperation.upgrade_period",
    kind="str",
    default="month",
    label="升级计数周期",
    help="合作状态每升一级纳入管理数据、按升级次数奖励：同一负责人的同一客户每个周期最多计一次，"
    "且只有高于周期开始时状态的升级才计数（先降后升回原状态不计）。month / quarter / year。",
    example="quarter",
    check=_period,
)
rule(
    key="cooperation.monthly_update_due_day",
    kind="int",
    default=25,
    label="月度合作状态更新截止日",
    help="负责人每月此日（含）前确认本月每个客户的合作状态（未变化也要确认）；"
    "过了此日仍未完成的，在各部门的未更新名单中标为逾期。",
    example=20,
    check=_day_of_month,
)
