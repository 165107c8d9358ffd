"""Policy rules of this capability, declared with policy.registry.rule (imported by the
registry, so they are part of REGISTRY and of docs/policies.md).

- grading.model: the scoring model (indicators, weights, value → 0–5 points).
- grading.treatment: what each grade gets (visit frequency, service tier, reception budget).
- grading.batch_sets_grade: whether a batch run changes the effective grade of every
  customer or only gives customers without one a provisional grade (the annual review
  cycle makes the others effective).
- grading.bands (declared in the registry): total score → grade; a band may also `require`
  minimum indicator values (named tiers by amount thresholds).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from guanxi.policy.registry import _is_decimal, rule

# Indicator sources computed from the ledger (grading.engine.SOURCES explains each one).
COMPUTED_SOURCES = {
    "order_amount",
    "order_profit",
    "collection_rate",
    "days_late",
    "receivable_days",
    "yoy_growth",
    "growth_3y",
    "order_count",
    "stagnant_orders",
    "registered_capital",
}
ROLE_SOURCE = "role"


def _number(value: Any, what: str) -> Decimal:
    if not _is_decimal(value):
        raise ValidationError(f"{what} 应为数字。")
    return Decimal(str(value))


def _check_scale(code: str, scale: Any) -> None:
    if not isinstance(scale, dict) or scale.get("type") not in {"thresholds", "percentile"}:
        raise ValidationError(f"指标 {code} 的 scale.type 应为 thresholds 或 percentile。")
    if scale.get("direction", "higher") not in {"higher", "lower"}:
        raise ValidationError(f"指标 {code} 的 direction 应为 higher 或 lower。")
    steps = scale.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValidationError(f"指标 {code} 需要 steps（分值档位）。")
    bound = "pct" if scale["type"] == "percentile" else "value"
    previous = None
    for step in steps:
        if not isinstance(step, dict) or bound not in step or "points" not in step:
            raise ValidationError(f"指标 {code} 的每个档位需要 {bound} 和 points。")
        points = _number(step["points"], f"指标 {code} 的 points")
        if not Decimal(0) <= points <= Decimal(5):
            raise ValidationError(f"指标 {code} 的分值应在0到5之间。")
        limit = _number(step[bound], f"指标 {code} 的 {bound}")
        if bound == "pct" and not Decimal(0) <= limit <= Decimal(100):
            raise ValidationError(f"指标 {code} 的百分位应在0到100之间。")
        if previous is not None and previous[0] < points:
            raise ValidationError(f"指标 {code} 的档位应按分值从高到低排列。")
        previous = (points, limit)


def _model(value: Any) -> None:
    indicators = value.get("indicators")
    if not isinstance(indicators, list) or not indicators:
        raise ValidationError("评分模型至少需要一个指标（indicators）。")
    codes = set()
    total = Decimal(0)
    for item in indicators:
        if not isinstance(item, dict) or not item.get("code") or not item.get("label"):
            raise ValidationError("每个指标都需要 code 和 label。")
        code = item["code"]
        if code in codes:
            raise ValidationError(f"指标代码 {code} 重复。")
        codes.add(code)
        weight = _number(item.get("weight"), f"指标 {code} 的权重 weight")
        if weight < 0:
            raise ValidationError(f"指标 {code} 的权重不能为负数。")
        total += weight
        source = item.get("source")
        if source == ROLE_SOURCE:
            roles = item.get("roles")
            if (
                not isinstance(roles, list)
                or not roles
                or not all(isinstance(r, str) for r in roles)
            ):
                raise ValidationError(f"指标 {code} 由角色评分，需要 roles（角色代码列表）。")
        elif source in COMPUTED_SOURCES:
            _check_scale(code, item.get("scale"))
        else:
            raise ValidationError(
                f"指标 {code} 的来源 source 未知：{source}。"
                f"可选：role、{'、'.join(sorted(COMPUTED_SOURCES))}。"
            )
    if total <= 0:
        raise ValidationError("指标权重之和应大于0。")
    stagnant_days = value.get("stagnant_order_days", 90)
    if not isinstance(stagnant_days, int) or stagnant_days <= 0:
        raise ValidationError("stagnant_order_days 应为正整数。")


def _steps(*pairs: tuple[Any, Any], key: str = "value") -> list[dict[str, Any]]:
    return [{key: bound, "points": points} for bound, points in pairs]


DEFAULT_MODEL: dict[str, Any] = {
    "stagnant_order_days": 90,
    "indicators": [
        {
            "code": "order_amount",
            "label": "上年度订单总额（元）",
            "group": "贡献度",
            "weight": 15,
            "source": "order_amount",
            "scale": {
                "type": "thresholds",
                "steps": _steps((1000000, 5), (500000, 4), (200000, 3), (100000, 2), (10000, 1)),
            },
        },
        {
            "code": "order_profit",
            "label": "上年度订单利润（元）",
            "group": "贡献度",
            "weight": 15,
            "source": "order_profit",
            "scale": {
                "type": "percentile",
                "steps": _steps((80, 5), (60, 4), (40, 3), (20, 2), (0, 1), key="pct"),
            },
        },
        {
            "code": "collection_rate",
            "label": "回款率",
            "group": "回款",
            "weight": 10,
            "source": "collection_rate",
            "scale": {
                "type": "thresholds",
                "steps": _steps(("0.98", 5), ("0.90", 4), ("0.80", 3), ("0.70", 2), ("0.50", 1)),
            },
        },
        {
            "code": "days_late",
            "label": "平均逾期天数",
            "group": "回款",
            "weight": 10,
            "source": "days_late",
            "scale": {
                "type": "thresholds",
                "direction": "lower",
                "steps": _steps((0, 5), (7, 4), (15, 3), (30, 2), (60, 1)),
            },
        },
        {
            "code": "yoy_growth",
            "label": "订单额同比增长率",
            "group": "增长性",
            "weight": 7,
            "source": "yoy_growth",
            "scale": {
                "type": "percentile",
                "steps": _steps((80, 5), (60, 4), (40, 3), (20, 2), (0, 1), key="pct"),
            },
        },
        {
            "code": "growth_3y",
            "label": "三年订单增长率",
            "group": "增长性",
            "weight": 5,
            "source": "growth_3y",
            "scale": {
                "type": "thresholds",
                "steps": _steps(("1.0", 5), ("0.5", 4), ("0.2", 3), ("0", 2), ("-0.2", 1)),
            },
        },
        {
            "code": "order_count",
            "label": "上年度出货次数",
            "group": "增长性",
            "weight": 4,
            "source": "order_count",
            "scale": {
                "type": "thresholds",
                "steps": _steps((24, 5), (12, 4), (6, 3), (3, 2), (1, 1)),
            },
        },
        {
            "code": "expected_growth",
            "label": "未来三年预计增长",
            "group": "增长性",
            "weight": 4,
            "source": "role",
            "roles": ["sales_director", "supervisor"],
        },
        {
            "code": "industry_potential",
            "label": "行业/细分市场潜力",
            "group": "行业潜力",
            "weight": 15,
            "source": "role",
            "roles": ["marketing_planning", "sales_director"],
        },
        {
            "code": "market_influence",
            "label": "市场影响力",
            "group": "市场影响力",
            "weight": 5,
            "source": "role",
            "roles": ["marketing_planning", "sales_director"],
        },
        {
            "code": "stagnant_orders",
            "label": "订单库存呆滞（元，负向）",
            "group": "库存呆滞",
            "weight": 10,
            "source": "stagnant_orders",
            "scale": {
                "type": "thresholds",
                "direction": "lower",
                "steps": _steps((0, 5), (10000, 4), (50000, 3), (100000, 2), (200000, 1)),
            },
        },
    ],
}

rule(
    key="grading.model",
    kind="dict",
    default=DEFAULT_MODEL,
    label="客户评分模型",
    help="加权指标，每项0–5分，总分 = Σ(分值 × 权重) ÷ (5 × 权重之和) × 100，保留两位小数。"
    "指标来源 source：order_amount 近12个完整月出货额，order_profit 近12个月利润（出货额−成本），"
    "collection_rate 近12个月回款 ÷ 出货，days_late 平均逾期天数（先进先出核销，计算量大），"
    "receivable_days 应收余额 ÷ 近12个月日均出货额（应收账款周转天数，计算量小），"
    "yoy_growth 近12个月较前12个月增长率，growth_3y 近12个月较三年前同期12个月增长率，"
    "order_count 近12个月出货笔数，stagnant_orders 超过 stagnant_order_days 天未出货的订单余额"
    "（负向指标：越多分越低），registered_capital 注册资本（万元）；role 表示由 roles 中的角色"
    "按0–5分评分（是=5，否=0，部分符合按比例）。scale：thresholds 按数值档位（direction=lower "
    "表示越小越好，值不超过档位即得分），percentile 按全体客户中的百分位档位（pct）。"
    "无数据的指标得0分。",
    example={
        "indicators": [
            {
                "code": "order_amount",
                "label": "上年度订单总额（元）",
                "weight": 60,
                "source": "order_amount",
                "scale": {"type": "thresholds", "steps": [{"value": 500000, "points": 5}]},
            },
            {
                "code": "industry_potential",
                "label": "行业潜力",
                "weight": 40,
                "source": "role",
                "roles": ["marketing_planning", "sales_director"],
            },
        ]
    },
    check=_model,
)


def _treatment(value: Any) -> None:
    if "*" not in value:
        raise ValidationError("需要包含 '*'（未单独设置的等级）。")
    for code, entry in value.items():
        if not isinstance(entry, dict):
            raise ValidationError(f"等级 {code} 的设置应为对象。")
        months = entry.get("visit_every_months")
        if not isinstance(months, int) or isinstance(months, bool) or months <= 0:
            raise ValidationError(f"等级 {code} 的 visit_every_months 应为正整数。")
        if not entry.get("service_tier"):
            raise ValidationError(f"等级 {code} 需要 service_tier（服务等级）。")
        if _number(entry.get("reception_budget"), f"等级 {code} 的 reception_budget") < 0:
            raise ValidationError(f"等级 {code} 的接待标准不能为负数。")


rule(
    key="grading.treatment",
    kind="dict",
    default={
        "A": {
            "visit_every_months": 3,
            "service_tier": "gold",
            "service_label": "金牌服务",
            "reception_class": "b",
            "reception_budget": "300",
        },
        "B": {
            "visit_every_months": 6,
            "service_tier": "silver",
            "service_label": "银牌服务",
            "reception_class": "c",
            "reception_budget": "200",
        },
        "*": {
            "visit_every_months": 12,
            "service_tier": "standard",
            "service_label": "普通服务",
            "reception_class": "d",
            "reception_budget": "150",
        },
    },
    label="等级待遇（拜访频次、服务等级、接待标准）",
    help="每个等级代码对应：visit_every_months 至少每几个月拜访一次（A 每季度、B 每半年、C 每年），"
    "service_tier 服务等级代码与 service_label 名称，reception_class 接待类别与 "
    "reception_budget 每人接待费用标准（元）。'*' 用于未单独列出的等级（含尚未评级的客户）。",
    example={
        "A": {"visit_every_months": 1, "service_tier": "super", "reception_budget": "500"},
        "*": {"visit_every_months": 6, "service_tier": "standard", "reception_budget": "150"},
    },
    check=_treatment,
)


def _batch_mode(value: Any) -> None:
    if value not in ("provisional", "all"):
        raise ValidationError("应为 provisional 或 all。")


rule(
    key="grading.batch_sets_grade",
    kind="str",
    default="provisional",
    label="批量评分对客户等级的作用",
    help="provisional：批量评分只为还没有等级的客户（新客户）设定临时等级，其余客户的评分只作参考，"
    "等级在年度评定经总经理批准后统一生效；all：每次批量评分都直接更新全部客户的等级（不做年度评定的公司）。",
    example="all",
    check=_batch_mode,
)
