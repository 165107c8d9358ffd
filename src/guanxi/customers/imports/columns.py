"""Which spreadsheet column feeds which archive field (列对应).

The seeds' tables (《客户信息表》, 客户统计表) and the usual variants of their headers are
recognised; anything else is left for the user to map. A header is compared after NFKC
(full-width → half-width), without spaces and required-field marks (※, *), and if that
fails once more without its bracketed part (注册资本（万元） → 注册资本).

A mapping is {header text: target key}; "" (or a missing header) means "not imported".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

IGNORE = "ignore"


@dataclass(frozen=True)
class Target:
    key: str
    label: Any
    aliases: tuple[str, ...]


TARGETS: list[Target] = [
    Target(
        "name",
        _("客户名称"),
        ("客户名称", "客户", "客户全称", "单位名称", "公司名称", "企业名称", "名称"),
    ),
    Target(
        "credit_code",
        _("统一社会信用代码"),
        ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码", "uscc"),
    ),
    Target("department", _("分支机构"), ("分支机构", "所属分支机构", "所属部门", "部门")),
    Target(
        "owner",
        _("负责人（姓名或用户名）"),
        ("主要负责人", "负责人", "业务员", "业务负责人", "客户经理", "销售人员"),
    ),
    Target("contact_name", _("联系人"), ("联系人", "联系人姓名", "主要联系人")),
    Target("contact_title", _("联系人职务"), ("联系人职务", "职务")),
    Target(
        "contact_number",
        _("联系方式（手机或电话）"),
        ("联系方式", "联系电话", "联系人电话", "联系人联系方式"),
    ),
    Target("contact_mobile", _("联系人手机"), ("手机", "联系人手机", "手机号", "手机号码")),
    Target("contact_email", _("联系人邮箱"), ("联系人邮箱", "联系人电子邮箱")),
    Target("cooperation_status", _("合作状态"), ("合作状态",)),
    Target("status_colour", _("表示颜色（核对合作状态）"), ("表示颜色", "颜色", "状态颜色")),
    Target("address", _("地址"), ("地址", "详细地址", "公司地址", "注册地址", "通讯地址")),
    Target("industry", _("行业"), ("行业", "所属行业")),
    Target("customer_type", _("客户类型"), ("客户类型", "客户类别", "客户分类")),
    Target("legal_representative", _("法定代表人"), ("法定代表人", "法人代表", "法人")),
    Target(
        "registered_capital",
        _("注册资本（万元）"),
        ("注册资本", "注册资本(万元)", "注册资金"),
    ),
    Target("business_scope", _("经营范围"), ("经营范围",)),
    Target("postcode", _("邮编"), ("邮编", "邮政编码")),
    Target("phone", _("电话"), ("电话", "公司电话", "办公电话", "座机", "固定电话")),
    Target("fax", _("传真"), ("传真", "传真号码")),
    Target("email", _("电子邮箱"), ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail")),
    Target("website", _("网址"), ("网址", "网站", "公司网址", "公司网站")),
    Target("region", _("区域"), ("区域", "所属区域", "销售区域", "大区")),
    Target("tags", _("标签"), ("标签",)),
    Target("source_channel", _("来源渠道"), ("来源渠道", "客户来源", "来源")),
    Target("value_tier", _("价值分类"), ("价值分类", "客户价值")),
    Target("first_contact_on", _("首次接触日期"), ("首次接触日期", "首次接触时间")),
    Target("notes", _("备注"), ("备注", "说明")),
    Target(
        IGNORE,
        _("（忽略）序号等"),
        ("序号", "编号", "no", "no.", "行号", "错误说明"),
    ),
]
TARGET_KEYS = [t.key for t in TARGETS]

# The headers of our own exports (customers.imports.export), marked for translation: an
# export made in another language is recognised too.
STATISTICS_HEADERS = [gettext_noop("序号"), gettext_noop("客户"), gettext_noop("分支机构"), gettext_noop("主要负责人"), gettext_noop("联系方式"),
                      gettext_noop("合作状态"), gettext_noop("表示颜色")]  # fmt: skip
FULL_HEADERS = [
    gettext_noop("序号"), gettext_noop("客户名称"), gettext_noop("统一社会信用代码"), gettext_noop("法定代表人"), gettext_noop("注册资本（万元）"),
    gettext_noop("经营范围"), gettext_noop("地址"), gettext_noop("邮编"), gettext_noop("电话"), gettext_noop("传真"), gettext_noop("电子邮箱"), gettext_noop("网址"),
    gettext_noop("行业"), gettext_noop("客户类型"), gettext_noop("区域"), gettext_noop("分支机构"), gettext_noop("负责人"), gettext_noop("协作负责人"),
    gettext_noop("来源渠道"), gettext_noop("价值分类"), gettext_noop("合作状态"), gettext_noop("表示颜色"), gettext_noop("客户等级"),
    gettext_noop("资信等级"), gettext_noop("密级"), gettext_noop("首次接触日期"), gettext_noop("标签"), gettext_noop("联系人"), gettext_noop("联系人职务"),
    gettext_noop("联系人手机"), gettext_noop("联系人电话"), gettext_noop("联系人邮箱"), gettext_noop("备注"), gettext_noop("建档时间"),
    gettext_noop("更新时间"),
]  # fmt: skip
LABELS = {t.key: t.label for t in TARGETS}

_MARKS = re.compile(r"[\s※*＊:：]+")
_BRACKETED = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")


def normalise_header(text: Any) -> str:
    value = unicodedata.normalize("NFKC", "" if text is None else str(text))
    return _MARKS.sub("", value).lower()


_ALIASES: dict[str, str] = {}
for _target in TARGETS:
    for _alias in _target.aliases:
        _ALIASES.setdefault(normalise_header(_alias), _target.key)


def recognise(header: Any) -> str:
    """The target key of one header, or "" when it is not recognised."""
    text = normalise_header(header)
    if not text:
        return ""
    if text in _ALIASES:
        return _ALIASES[text]
    key = _ALIASES.get(_BRACKETED.sub("", text), "")
    if not key:
        # Our own export headers and target labels in the active language (e.g. English).
        for chinese in (*FULL_HEADERS, *STATISTICS_HEADERS):
            if normalise_header(gettext_now(chinese)) == text:
                return _ALIASES.get(normalise_header(chinese), "")
    return key


def detect_mapping(headers: list[str]) -> dict[str, str]:
    """Recognised headers → targets. A target is taken by its first column only."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = recognise(header)
        if key and (key == IGNORE or key not in taken):
            mapping[header] = key
            taken.add(key)
        else:
            mapping[header] = ""
    return mapping


def merge_mapping(headers: list[str], *preferred: dict[str, str]) -> dict[str, str]:
    """The detected mapping, overridden by saved or submitted ones (later wins), limited
    to the file's headers and known targets."""
    mapping = detect_mapping(headers)
    for override in preferred:
        for header, key in (override or {}).items():
            if header in mapping and (key in TARGET_KEYS or key == ""):
                mapping[header] = key
    return mapping


def header_score(cells: list[Any]) -> int:
    """How many cells of a row read as known headers (to find the header row)."""
    return sum(1 for cell in cells if recognise(cell))
