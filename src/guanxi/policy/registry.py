"""Every configurable business rule, declared once, with its default from MISSION.md.

A company changes a rule by publishing a PolicyVersion that overrides some keys from an
effective date. Nothing else in the code base may hold a business literal that a rule
here covers. docs/policies.md is generated from this file (`python -m guanxi policy-docs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Rule:
    key: str
    kind: str  # int | decimal | bool | str | list | dict
    default: Any
    label: str
    help: str
    example: Any  # a valid non-default value, used by tests and docs
    check: Callable[[Any], None] | None = field(default=None, compare=False)

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]


REGISTRY: dict[str, Rule] = {}


def rule(**kwargs: Any) -> Rule:
    item = Rule(**kwargs)
    if item.key in REGISTRY:
        raise RuntimeError(f"policy rule {item.key} declared twice")
    validate(item, item.default)
    validate(item, item.example)
    REGISTRY[item.key] = item
    return item


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
}
KIND_NAMES = {
    "int": "整数",
    "bool": "布尔值",
    "str": "文本",
    "list": "列表",
    "dict": "对象",
    "decimal": "小数",
}


def _is_decimal(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        Decimal(str(value))
    except InvalidOperation:
        return False
    return True


def validate(item: Rule, value: Any) -> None:
    """Raise ValidationError (Chinese) unless value fits the rule."""
    ok = _is_decimal(value) if item.kind == "decimal" else _KIND_CHECKS[item.kind](value)
    if not ok:
        raise ValidationError(f"{item.label}（{item.key}）应为{KIND_NAMES[item.kind]}。")
    if item.check is not None:
        item.check(value)


def get_rule(key: str) -> Rule:
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown policy rule {key!r}") from None


# --- checks -----------------------------------------------------------------------------------
def _positive(value: Any) -> None:
    if value <= 0:
        raise ValidationError("必须为正数。")


def _non_negative(value: Any) -> None:
    if value < 0:
        raise ValidationError("不能为负数。")


def _share(value: Any) -> None:
    if not Decimal("0") < Decimal(str(value)) <= Decimal("1"):
        raise ValidationError("比例应在0到1之间（如0.8表示80%）。")


def _coded_list(*required: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not value:
            raise ValidationError("列表不能为空。")
        codes = set()
        for entry in value:
            if not isinstance(entry, dict) or any(not entry.get(k) for k in required):
                raise ValidationError(f"每一项都需要包含：{'、'.join(required)}。")
            if entry["code"] in codes:
                raise ValidationError(f"代码 {entry['code']} 重复。")
            codes.add(entry["code"])

    return check


def _bands(value: Any) -> None:
    _coded_list("code", "label")(value)
    minimums = [entry.get("min") for entry in value]
    if any(not isinstance(m, int | float) or isinstance(m, bool) for m in minimums):
        raise ValidationError("每个等级都需要数值下限 min。")
    if minimums != sorted(minimums, reverse=True) or len(set(minimums)) != len(minimums):
        raise ValidationError("等级应按下限从高到低排列，且下限互不相同。")
    if minimums[-1] != 0:
        raise ValidationError("最低等级的下限应为0，使每个分数都有等级。")


def _required_fields(value: Any) -> None:
    from guanxi.customers.completeness import CHECKABLE_FIELDS

    unknown = [name for name in value if name not in CHECKABLE_FIELDS]
    if unknown:
        raise ValidationError(f"未知的档案字段：{', '.join(unknown)}。")


def _role_limits(value: Any) -> None:
    if "*" not in value:
        raise ValidationError("需要包含 '*'（其他角色的默认值）。")
    for role, limit in value.items():
        if not isinstance(limit, int) or limit < 0:
            raise ValidationError(f"{role} 的上限应为非负整数。")


# --- the default policy pack -------------------------------------------------------------------
rule(
    key="customers.types",
    kind="list",
    default=[
        {"code": "construction", "label": "建筑工程公司"},
        {"code": "trading", "label": "贸易公司"},
        {"code": "operation_center", "label": "运营中心"},
        {"code": "engineering_retail", "label": "工程方零售"},
    ],
    label="客户类型",
    help="客户档案可选的客户类型（代码与名称）。已使用的代码不要删除。",
    example=[
        {"code": "construction", "label": "建筑工程公司"},
        {"code": "trading", "label": "贸易公司"},
        {"code": "distributor", "label": "经销商"},
    ],
    check=_coded_list("code", "label"),
)
rule(
    key="customers.required_fields",
    kind="list",
    default=[
        "name",
        "credit_code",
        "legal_representative",
        "address",
        "phone",
        "customer_type",
        "industry",
        "region",
        "owner",
        "contacts",
    ],
    label="档案必填项（※）",
    help="计入档案完整度的必填项；缺项会在档案页和数据质量页提示。contacts 表示至少一位联系人。",
    example=["name", "credit_code", "postcode", "email"],
    check=_required_fields,
)
rule(
    key="customers.filing_deadline_workdays",
    kind="int",
    default=5,
    label="新客户建档期限（工作日）",
    help="业务员首次接触新客户后，应在此期限内建立客户档案。",
    example=3,
    check=_positive,
)
rule(
    key="customers.change_deadline_workdays",
    kind="int",
    default=5,
    label="档案变更期限（工作日）",
    help="客户信息发生变化后，应在此期限内更新档案。",
    example=2,
    check=_positive,
)
rule(
    key="customers.freshness_days",
    kind="int",
    default=180,
    label="档案新鲜度（天）",
    help="超过此天数未更新的档案视为“待更新”。",
    example=90,
    check=_positive,
)
rule(
    key="customers.recycle_bin_days",
    kind="int",
    default=30,
    label="回收站保留期（天）",
    help="删除的客户档案在回收站中可恢复的天数。",
    example=60,
    check=_positive,
)
rule(
    key="customers.export_max_rows",
    kind="dict",
    default={"salesperson": 500, "supervisor": 5000, "*": 20000},
    label="单次导出行数上限（按角色）",
    help="每次导出客户数据的最大行数，按角色代码设置，'*' 为其他角色；取用户各角色中最大的值。",
    example={"salesperson": 100, "*": 1000},
    check=_role_limits,
)
rule(
    key="grading.bands",
    kind="list",
    default=[
        {"code": "A", "label": "A类", "min": 80},
        {"code": "B", "label": "B类", "min": 60},
        {"code": "C", "label": "C类", "min": 0},
    ],
    label="客户等级分段",
    help="总分（0–100）到等级的分段，按下限从高到低：A 80–100，B 60–79，C 60以下。",
    example=[
        {"code": "A", "label": "A类", "min": 85},
        {"code": "B", "label": "B类", "min": 70},
        {"code": "C", "label": "C类", "min": 50},
        {"code": "D", "label": "D类", "min": 0},
    ],
    check=_bands,
)
rule(
    key="cooperation.ladder",
    kind="list",
    default=[
        {
            "code": "green",
            "label": "合作良好",
            "colour": "#28a745",
            "meaning": "已中标或签订协议，合作良好",
            "plan": "积极维护",
        },
        {
            "code": "blue",
            "label": "维持良好",
            "colour": "#1e88e5",
            "meaning": "沟通良好、有合作历史但当前无合同；或刚中标尚未建立感情",
            "plan": "跟紧联系",
        },
        {
            "code": "yellow",
            "label": "问题客户",
            "colour": "#fbc02d",
            "meaning": "合作中出现问题，竞争对手进入，客户摇摆",
            "plan": "积极沟通",
        },
        {
            "code": "white",
            "label": "没有合作",
            "colour": "#ffffff",
            "meaning": "三年内没有合作，不了解我们",
            "plan": "计划开拓",
        },
        {
            "code": "black",
            "label": "拒绝合作",
            "colour": "#212121",
            "meaning": "因经营管理原因互相列入黑名单",
            "plan": "—",
        },
    ],
    label="合作状态阶梯",
    help="合作状态由好到差排列，每级有颜色、含义和工作计划。",
    example=[
        {
            "code": "green",
            "label": "合作良好",
            "colour": "#28a745",
            "meaning": "合作中",
            "plan": "积极维护",
        },
        {
            "code": "yellow",
            "label": "问题客户",
            "colour": "#fbc02d",
            "meaning": "有问题",
            "plan": "积极沟通",
        },
        {
            "code": "white",
            "label": "没有合作",
            "colour": "#ffffff",
            "meaning": "未合作",
            "plan": "计划开拓",
        },
    ],
    check=_coded_list("code", "label", "colour"),
)
rule(
    key="credit.levels",
    kind="list",
    default=[
        {"code": "level1", "label": "一级"},
        {"code": "level2", "label": "二级"},
        {"code": "level3", "label": "三级"},
    ],
    label="资信等级",
    help="客户资信等级，由好到差；每半年重新评定。",
    example=[
        {"code": "level1", "label": "一级"},
        {"code": "level2", "label": "二级"},
        {"code": "level3", "label": "三级"},
        {"code": "level4", "label": "四级"},
    ],
    check=_coded_list("code", "label"),
)
rule(
    key="credit.warning_share",
    kind="decimal",
    default="0.80",
    label="信用额度预警比例",
    help="欠款达到信用额度的此比例时预警（0.80 即 80%）。",
    example="0.90",
    check=_share,
)
rule(
    key="credit.approval_deadline_days",
    kind="int",
    default=3,
    label="信用额度审批期限（天）",
    help="总经理审批信用额度申请的期限。",
    example=5,
    check=_positive,
)
rule(
    key="security.lockout_failures",
    kind="int",
    default=5,
    label="登录失败锁定次数",
    help="同一账号连续登录失败达到此次数后锁定。",
    example=3,
    check=_positive,
)
rule(
    key="security.lockout_minutes",
    kind="int",
    default=30,
    label="登录锁定时长（分钟）",
    help="账号被锁定后多长时间自动解锁。",
    example=60,
    check=_positive,
)
rule(
    key="compliance.mask_phones",
    kind="bool",
    default=True,
    label="非本人客户号码脱敏",
    help="列表、详情和导出中，非本人负责客户的手机和电话显示为 138****1234。",
    example=False,
)
