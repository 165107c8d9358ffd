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
    # Equal minimums only where the higher band also `require`s indicator values (named
    # tiers by amount thresholds, grading.engine); otherwise the lower one is unreachable.
    pairs = zip(value, value[1:], strict=False)
    same = [a for a, b in pairs if a["min"] == b["min"] and not a.get("require")]
    if minimums != sorted(minimums, reverse=True) or same:
        raise ValidationError("等级应按下限从高到低排列，且下限互不相同。")
    for entry in value:
        require = entry.get("require", {})
        if not isinstance(require, dict) or not all(_is_decimal(v) for v in require.values()):
            raise ValidationError("require 应为 {指标代码: 最低数值}。")
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
    key="customers.import_file_retention_days",
    kind="int",
    default=30,
    label="导入文件保留期（天）",
    help="上传的导入文件及其错误报告保留的天数；期满由定期清理任务（python -m guanxi sweep）删除，导入记录保留。",
    example=7,
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
    help="总分（0–100）到等级的分段，按下限从高到低：A 80–100，B 60–79，C 60以下。"
    "某等级可用 require 附加门槛 {评分模型指标代码: 最低数值}（如注册资本、近12个月交易额），"
    "同时满足下限和门槛才评为该等级；带门槛的等级可与下一等级下限相同。",
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


# --- ledger and credit (issue 4) -----------------------------------------------------------------
def _ageing_buckets(value: Any) -> None:
    if not value or any(not isinstance(v, int) or isinstance(v, bool) or v <= 0 for v in value):
        raise ValidationError("账龄分段应为正整数天数的列表，如 [30, 60, 90]。")
    if value != sorted(set(value)):
        raise ValidationError("账龄分段应从小到大排列且互不相同。")


_RATING_CRITERIA = {
    "min_annual_sales",
    "min_monthly_sales",
    "max_terms_days",
    "min_on_time_share",
    "max_avg_days_late",
    "max_overdue_share",
}


def _rating_rules(value: Any) -> None:
    levels = set()
    for entry in value:
        if not isinstance(entry, dict) or not entry.get("level"):
            raise ValidationError("每条评级规则都需要 level（资信等级代码）。")
        if entry["level"] in levels:
            raise ValidationError(f"等级 {entry['level']} 重复。")
        levels.add(entry["level"])
        unknown = set(entry) - _RATING_CRITERIA - {"level"}
        if unknown:
            raise ValidationError(f"未知的评级条件：{', '.join(sorted(unknown))}。")
        for key in set(entry) & _RATING_CRITERIA:
            if not _is_decimal(entry[key]) or Decimal(str(entry[key])) < 0:
                raise ValidationError(f"{key} 应为非负数。")


def _limit_formula(value: Any) -> None:
    required = {"annual_weight", "monthly_weight", "buffer_months", "level_factors", "round_to"}
    missing = required - set(value)
    if missing:
        raise ValidationError(f"缺少参数：{', '.join(sorted(missing))}。")
    numbers = ["annual_weight", "monthly_weight", "buffer_months", "round_to"]
    if "min_record_factor" in value:
        numbers.append("min_record_factor")
    for key in numbers:
        if not _is_decimal(value[key]) or Decimal(str(value[key])) < 0:
            raise ValidationError(f"{key} 应为非负数。")
    if Decimal(str(value["round_to"])) <= 0:
        raise ValidationError("round_to 应为正数。")
    factors = value["level_factors"]
    if not isinstance(factors, dict) or not factors:
        raise ValidationError("level_factors 应为 {等级代码: 系数}。")
    for code, factor in factors.items():
        if not _is_decimal(factor) or Decimal(str(factor)) < 0:
            raise ValidationError(f"等级 {code} 的系数应为非负数。")


def _non_negative_amount(value: Any) -> None:
    if Decimal(str(value)) < 0:
        raise ValidationError("金额不能为负数。")


def _day_of_month(value: Any) -> None:
    if not 1 <= value <= 28:
        raise ValidationError("应为1到28之间的日期。")


def _role_codes(value: Any) -> None:
    if not value or any(not isinstance(v, str) or not v for v in value):
        raise ValidationError("应为角色代码的列表。")


rule(
    key="ledger.default_payment_terms_days",
    kind="int",
    default=30,
    label="默认账期（天）",
    help="未单独设置账期的客户，出货后应在此天数内回款；应收日期 = 出货日期 + 账期。",
    example=45,
    check=_non_negative,
)
rule(
    key="ledger.ageing_buckets",
    kind="list",
    default=[30, 60, 90],
    label="账龄分段（天）",
    help="应收账款按出货日期起算的账龄分段上限：[30, 60, 90] 即 0–30、31–60、61–90、90天以上。"
    "回款按出货日期先后（先进先出）冲抵。",
    example=[30, 90, 180],
    check=_ageing_buckets,
)
rule(
    key="credit.orders_in_exposure",
    kind="bool",
    default=True,
    label="未出货订单计入额度占用",
    help="开启时，额度占用 = 应收余额 + 未出货订单金额；关闭时只计应收余额。",
    example=False,
)
rule(
    key="credit.limit_without_approval",
    kind="decimal",
    default="0",
    label="无审批额度客户的赊销上限（元）",
    help="客户没有已批准的信用额度时可赊销的金额。默认0：只能现款出货（出货时同时登记回款）。",
    example="20000",
    check=_non_negative_amount,
)
rule(
    key="credit.rating_rules",
    kind="list",
    default=[
        {
            "level": "level1",
            "min_annual_sales": 1000000,
            "min_monthly_sales": 50000,
            "max_terms_days": 60,
            "min_on_time_share": "0.90",
            "max_avg_days_late": 10,
        },
        {
            "level": "level2",
            "min_annual_sales": 200000,
            "min_monthly_sales": 10000,
            "max_terms_days": 90,
            "min_on_time_share": "0.70",
            "max_avg_days_late": 30,
        },
    ],
    label="资信等级评定规则",
    help="由高到低逐级检查，满足某级全部条件即评为该级，都不满足评为最低一级（credit.levels 的最后一项）。"
    "条件：min_annual_sales 近12个月出货额下限，min_monthly_sales 近3个月月均出货额下限，"
    "max_terms_days 账期上限，min_on_time_share 按期回款比例下限，"
    "max_avg_days_late 平均逾期天数上限，max_overdue_share 逾期应收占余额比例上限。",
    example=[
        {"level": "level1", "min_annual_sales": 2000000, "min_on_time_share": "0.95"},
        {"level": "level2", "min_annual_sales": 500000},
    ],
    check=_rating_rules,
)
rule(
    key="credit.rating_valid_months",
    kind="int",
    default=6,
    label="资信等级复评周期（月）",
    help="资信等级每隔此月数重新评定（默认每半年）；到期未复评的客户在资信页提示，定期任务自动复评。",
    example=3,
    check=_positive,
)
rule(
    key="credit.limit_formula",
    kind="dict",
    default={
        "annual_weight": "0.5",
        "monthly_weight": "0.5",
        "buffer_months": "0.5",
        "level_factors": {"level1": "1.2", "level2": "1.0", "level3": "0.5"},
        "min_record_factor": "0.3",
        "round_to": 1000,
    },
    label="信用额度建议公式",
    help="月销售基数 = annual_weight × 近12个月出货额 ÷ 12 + monthly_weight × 近3个月月均出货额；"
    "建议额度 = 月销售基数 × (账期天数 ÷ 30 + buffer_months) × 等级系数 level_factors"
    " × 付款记录系数（按期回款比例，不低于 min_record_factor；无记录为1），向下取整到 round_to 元。",
    example={
        "annual_weight": "1",
        "monthly_weight": "0",
        "buffer_months": "1",
        "level_factors": {"level1": "1.5", "level2": "1.0", "level3": "0.3"},
        "round_to": 10000,
    },
    check=_limit_formula,
)
rule(
    key="credit.round_open_day",
    kind="int",
    default=1,
    label="季度额度申报开启日",
    help="每季度最后一个月的此日起开启下季度的信用额度申报（系统按公式生成建议，负责人调整后提交总经理审批）。",
    example=15,
    check=_day_of_month,
)
rule(
    key="credit.escalation_roles",
    kind="list",
    default=["general_manager", "sales_director"],
    label="额度审批逾期提醒对象（角色）",
    help="信用额度申请超过审批期限仍未处理时，提醒这些角色的用户（逾期状态在页面上实时显示）。",
    example=["general_manager", "administrator"],
    check=_role_codes,
)


# Rules of later capabilities are declared beside their code and register on import.
from guanxi.cooperation import rules as _cooperation_rules  # noqa: E402, F401
from guanxi.grading import rules as _grading_rules  # noqa: E402, F401
from guanxi.reviews import rules as _reviews_rules  # noqa: E402, F401
