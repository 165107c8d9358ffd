"""One spreadsheet row → the arguments of customer_create / customer_update.

This module only *parses*: it turns cell text into the values the services take (names of
people, branches, regions and industries into records; labels into policy codes; "500万"
into 500). Every archive rule (required fields, credit-code checksum, mobile format,
customer type in policy, scope after the write …) is the services' job; a value this
module cannot interpret is passed on as typed so that the service's own message reports it,
except for references (owner, branch, region, industry) and the cooperation status, which
must name something that exists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.core.ahead import shared_records
from guanxi.core.china import normalise_credit_code, normalise_mobile
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.models import Customer, Industry, Region, Tag
from guanxi.org.models import Department, User
from guanxi.org.selectors import departments_visible_to, users_visible_to
from guanxi.policy.selectors import choices as policy_choices

# Archive fields taken from a column of the same name.
TEXT_FIELDS = [
    "name",
    "credit_code",
    "legal_representative",
    "business_scope",
    "address",
    "postcode",
    "phone",
    "fax",
    "email",
    "website",
    "notes",
]
# Service error keys → import targets (a contact's fields are prefixed contact_).
FIELD_TARGETS = {
    "credit_code_override_reason": "credit_code",
    "co_owners": "owner",
}
CONTACT_TARGETS = {
    "name": "contact_name",
    "title": "contact_title",
    "email": "contact_email",
}
_TAG_SPLIT = re.compile(r"[,，、;；\s]+")
_CAPITAL_UNITS = re.compile(r"(人民币|元|rmb|cny|\s|,|，)", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Colour words of the 表示颜色 column, compared with the ladder's codes.
COLOUR_WORDS = {
    "绿": "green",
    "绿色": "green",
    "蓝": "blue",
    "蓝色": "blue",
    "黄": "yellow",
    "黄色": "yellow",
    "白": "white",
    "白色": "white",
    "黑": "black",
    "黑色": "black",
    "红": "red",
    "红色": "red",
    "橙": "orange",
    "橙色": "orange",
    "灰": "grey",
    "灰色": "grey",
}
COLOUR_NAMES = {
    "green": "绿色",
    "blue": "蓝色",
    "yellow": "黄色",
    "white": "白色",
    "black": "黑色",
    "red": "红色",
    "orange": "橙色",
    "grey": "灰色",
}


def is_masked(value: str) -> bool:
    """A phone exported masked (138****1234) carries no number: never import it."""
    return "*" in value


def looks_like_mobile(value: str) -> bool:
    """联系方式 holds either a mobile or a landline: digits starting with 1 are taken for a
    mobile (and validated as one); anything else (0 area code, extensions …) is a phone."""
    digits = normalise_mobile(value)
    return digits.isdigit() and digits.startswith("1") and 8 <= len(digits) <= 13


def parse_capital(value: str) -> str:
    """注册资本 in 万元: "500万", "500万元", "1,000", "1.2亿" → "500", "500", "1000", "12000".
    Anything else is passed on unchanged for the service to refuse."""
    text = _CAPITAL_UNITS.sub("", value)
    factor = Decimal(1)
    if text.endswith("亿"):
        text, factor = text[:-1], Decimal(10000)
    elif text.endswith("万"):
        text = text[:-1]
    try:
        return str((Decimal(text) * factor).normalize())
    except InvalidOperation:
        return value


def parse_date(value: str) -> dt.date | str:
    text = value.strip().split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        serial = float(text)
    except ValueError:
        return value
    if 1 < serial < 100000:  # an Excel date serial in a cell without date format
        return _EXCEL_EPOCH + dt.timedelta(days=int(serial))
    return value


def _coded(key: str) -> dict[str, str]:
    """label or code (as typed, case-insensitive) → code, for a coded policy list."""
    found: dict[str, str] = {}
    for code, label in policy_choices(key):
        found[str(label).strip().lower()] = code
        found[str(code).strip().lower()] = code
    return found


def _choices(field_name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for code, label in Customer._meta.get_field(field_name).choices:
        found[str(label).lower()] = code
        found[str(code).lower()] = code
    return found


class Lookups:
    """Names, labels and codes the importer resolves, loaded once per run.

    Owners and branches are found among those the actor may pick in the customer form
    (org.selectors.users_visible_to / departments_visible_to); a name that exists only
    outside the actor's scope gets its own message.
    """

    def __init__(self, actor: Any):
        self.actor = actor
        self.users_by_username: dict[str, User] = {}
        self.users_by_name: dict[str, list[User]] = defaultdict(list)
        for user in users_visible_to(actor).select_related("department"):
            self.users_by_username[user.username.lower()] = user
            self.users_by_name[user.display_name].append(user)
        everyone = User.objects.filter(is_active=True).values_list("username", "name")
        self.all_user_names = {n for pair in everyone for n in pair if n}
        self.all_user_names |= {n.lower() for n in self.all_user_names}
        self.departments: dict[str, list[Department]] = defaultdict(list)
        for department in departments_visible_to(actor).filter(is_active=True):
            self.departments[department.name].append(department)
            if department.code:
                self.departments[department.code].append(department)
        self.all_department_names = set(Department.objects.values_list("name", flat=True))
        self.regions: dict[str, Region] = {}
        for region in Region.objects.all():
            self.regions[region.name] = region
            self.regions[region.code.lower()] = region
        self.industries = {industry.name: industry for industry in Industry.objects.all()}
        self.tags = {tag.name: tag for tag in Tag.objects.all()}
        self.types = _coded("customers.types")
        self.ladder = {entry["code"]: entry for entry in policy.get("cooperation.ladder")}
        self.statuses = _coded("cooperation.ladder")
        self.channels = _choices("source_channel")
        self.tiers = _choices("value_tier")

    def records(self) -> dict[tuple[str, Any], Any]:
        """The records loaded here (and the actor), for core.ahead.shared_records."""
        return shared_records(
            [self.actor],
            [self.actor.department] if self.actor.department else [],
            self.users_by_username.values(),
            [d for found in self.departments.values() for d in found],
            self.regions.values(),
            self.industries.values(),
            self.tags.values(),
        )

    def owner(self, text: str) -> tuple[User | None, str | None]:
        user = self.users_by_username.get(text.lower())
        if user is not None:
            return user, None
        users = self.users_by_name.get(text, [])
        if len(users) == 1:
            return users[0], None
        if len(users) > 1:
            return None, _("有多位名为“%(name)s”的用户，请改填用户名。") % {"name": text}
        if text in self.all_user_names or text.lower() in self.all_user_names:
            return None, _("负责人“%(name)s”不在您的数据范围内，不能为其导入客户。") % {
                "name": text
            }
        return None, _("系统中没有名为“%(name)s”的用户（请填写姓名或用户名）。") % {"name": text}

    def department(self, text: str) -> tuple[Department | None, str | None]:
        found = {d.pk: d for d in self.departments.get(text, [])}
        if len(found) == 1:
            return next(iter(found.values())), None
        if len(found) > 1:
            return None, _("有多个名为“%(name)s”的分支机构，请改填分支机构编码。") % {"name": text}
        if text in self.all_department_names:
            return None, _("分支机构“%(name)s”不在您的数据范围内。") % {"name": text}
        return None, _("系统中没有名为“%(name)s”的分支机构。") % {"name": text}

    def status_label(self, code: str) -> str:
        entry = self.ladder.get(code)
        return entry["label"] if entry else code


@dataclass
class RowPlan:
    """What one row asks for, before the services have their say."""

    number: int
    cells: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] | None = None
    tags: list[str] | None = None
    status: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Which target a contact's mobile/phone came from (for error columns).
    contact_sources: dict[str, str] = field(default_factory=dict)
    code: str = ""
    name_key: str = ""
    region_id: int | None = None
    region_given: bool = False

    def error(self, target: str, message: str) -> None:
        self.errors.setdefault(target, []).append(message)


def plan_row(
    number: int, cells: dict[str, str], columns: dict[str, str], lookups: Lookups
) -> RowPlan:
    """Parse one row. `columns` maps target key → header (the inverse of the mapping)."""
    plan = RowPlan(number=number, cells=cells)
    value = {key: cells.get(header, "").strip() for key, header in columns.items()}
    data = plan.data
    for name in TEXT_FIELDS:
        if value.get(name):
            data[name] = value[name]
    if data.get("phone") and is_masked(data["phone"]):
        del data["phone"]
    if data.get("website") and "://" not in data["website"]:
        data["website"] = "https://" + data["website"]
    if value.get("registered_capital"):
        data["registered_capital"] = parse_capital(value["registered_capital"])
    if value.get("first_contact_on"):
        data["first_contact_on"] = parse_date(value["first_contact_on"])
    if value.get("customer_type"):
        typed = value["customer_type"]
        data["customer_type"] = lookups.types.get(typed.lower(), typed)
    if value.get("source_channel"):
        typed = value["source_channel"]
        data["source_channel"] = lookups.channels.get(typed.lower(), typed)
    if value.get("value_tier"):
        typed = value["value_tier"]
        data["value_tier"] = lookups.tiers.get(typed.lower(), typed)
    if value.get("owner"):
        owner, problem = lookups.owner(value["owner"])
        if problem:
            plan.error("owner", problem)
        else:
            data["owner"] = owner
    if value.get("department"):
        department, problem = lookups.department(value["department"])
        if problem:
            plan.error("department", problem)
        else:
            data["department"] = department
    if value.get("region"):
        plan.region_given = True
        region = lookups.regions.get(value["region"]) or lookups.regions.get(
            value["region"].lower()
        )
        if region is None:
            plan.error("region", _("系统中没有名为“%(name)s”的区域。") % {"name": value["region"]})
        else:
            data["region"] = region
            plan.region_id = region.pk
    if value.get("industry"):
        industry = lookups.industries.get(value["industry"])
        if industry is None:
            plan.error(
                "industry",
                _("系统中没有名为“%(name)s”的行业（行业由管理员维护）。")
                % {"name": value["industry"]},
            )
        else:
            data["industry"] = industry
    if value.get("tags"):
        # Known tags as records (saves the service a lookup); new names it creates.
        plan.tags = [lookups.tags.get(t, t) for t in _TAG_SPLIT.split(value["tags"]) if t]
    _plan_status(plan, value, lookups)
    _plan_contact(plan, value)
    plan.code = normalise_credit_code(data.get("credit_code", ""))
    plan.name_key = normalise_name(data.get("name", ""))
    return plan


def _plan_status(plan: RowPlan, value: dict[str, str], lookups: Lookups) -> None:
    typed = value.get("cooperation_status", "")
    colour = value.get("status_colour", "")
    colour_code = COLOUR_WORDS.get(colour, colour.lower()) if colour else ""
    if colour_code and colour_code not in lookups.ladder:
        by_hex = {e["colour"].lower(): code for code, e in lookups.ladder.items()}
        colour_code = by_hex.get(colour.lower(), colour_code)
    if typed:
        code = lookups.statuses.get(typed.lower())
        if code is None:
            labels = "、".join(entry["label"] for entry in lookups.ladder.values())
            plan.error(
                "cooperation_status",
                _("合作状态“%(value)s”无效，应为：%(labels)s。")
                % {"value": typed, "labels": labels},
            )
            return
        plan.status = code
        if colour_code and colour_code in lookups.ladder and colour_code != code:
            plan.error(
                "status_colour",
                _("表示颜色“%(colour)s”与合作状态“%(status)s”不一致。")
                % {"colour": colour, "status": lookups.status_label(code)},
            )
    elif colour_code:
        if colour_code in lookups.ladder:
            plan.status = colour_code  # the colour alone tells the status
        else:
            plan.error(
                "status_colour",
                _("表示颜色“%(colour)s”不对应任何合作状态。") % {"colour": colour},
            )


def _plan_contact(plan: RowPlan, value: dict[str, str]) -> None:
    """联系人 + 联系方式/手机 → one contact. A number without a contact name is the
    customer's phone (the 客户统计表 has no contact-name column)."""
    name = value.get("contact_name", "")
    number = value.get("contact_number", "")
    mobile = value.get("contact_mobile", "")
    number = "" if is_masked(number) else number
    mobile = "" if is_masked(mobile) else mobile
    if not name:
        if (mobile or number) and "phone" not in plan.data:
            plan.data["phone"] = mobile or number
            plan.contact_sources["customer_phone"] = (
                "contact_mobile" if mobile else "contact_number"
            )
        return
    contact: dict[str, Any] = {"name": name}
    if mobile:
        contact["mobile"] = mobile
        plan.contact_sources["mobile"] = "contact_mobile"
    if number:
        if "mobile" not in contact and looks_like_mobile(number):
            contact["mobile"] = number
            plan.contact_sources["mobile"] = "contact_number"
        else:
            contact["phone"] = number
            plan.contact_sources["phone"] = "contact_number"
    if value.get("contact_title"):
        contact["title"] = value["contact_title"]
    if value.get("contact_email"):
        contact["email"] = value["contact_email"]
    plan.contact = contact


def error_targets(plan: RowPlan, detail: dict[str, Any], message: str) -> dict[str, list[str]]:
    """A service's ValidationFailed.detail in terms of import targets."""
    found: dict[str, list[str]] = {}
    for key, messages in (detail or {}).items():
        if key == "contacts" and isinstance(messages, list):
            for item in messages:
                for name, item_messages in (item or {}).items():
                    target = CONTACT_TARGETS.get(name) or plan.contact_sources.get(
                        name, "contact_name"
                    )
                    found.setdefault(target, []).extend(str(m) for m in item_messages)
            continue
        if key == "phone" and "customer_phone" in plan.contact_sources and "phone" in plan.data:
            key = plan.contact_sources["customer_phone"]
        target = FIELD_TARGETS.get(key, key)
        if key == "candidates" and isinstance(messages, list):
            # PossibleDuplicate: name the customers the row may duplicate.
            names = "、".join(
                f"{c.get('name')}（{c.get('score')}）" for c in messages if isinstance(c, dict)
            )
            found.setdefault("name", []).append(
                message + (_("可能重复的客户：%(names)s") % {"names": names} if names else "")
            )
            continue
        if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
            found.setdefault(target, []).extend(messages)
        elif isinstance(messages, list | tuple) and all(
            not isinstance(m, dict | list) for m in messages
        ):
            found.setdefault(target, []).extend(str(m) for m in messages)
        else:
            # Structured detail (e.g. duplicate candidates): the message says it all.
            found.setdefault("", []).append(message)
    if not found:
        found[""] = [message]
    return found
