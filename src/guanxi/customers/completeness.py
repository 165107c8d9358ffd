"""Archive completeness (which ※ required fields are missing) and filing deadlines.

Both are derived at read time from the record and the policy in force, never stored.
Policy: customers.required_fields, customers.filing_deadline_workdays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi import policy
from guanxi.core.workdays import add_workdays

# Fields the policy may mark as required, with their labels. "contacts" means at least one
# live contact (callers pass has_contacts, usually as a query annotation).
CHECKABLE_FIELDS: dict[str, Any] = {
    "name": _("客户名称"),
    "credit_code": _("统一社会信用代码"),
    "legal_representative": _("法定代表人"),
    "registered_capital": _("注册资本"),
    "business_scope": _("经营范围"),
    "address": _("地址"),
    "postcode": _("邮编"),
    "phone": _("电话"),
    "fax": _("传真"),
    "email": _("电子邮箱"),
    "website": _("网址"),
    "industry": _("行业"),
    "customer_type": _("客户类型"),
    "region": _("区域"),
    "source_channel": _("来源渠道"),
    "owner": _("负责人"),
    "first_contact_on": _("首次接触日期"),
    "contacts": _("联系人"),
}
_FK_FIELDS = {"industry", "region", "owner"}


@dataclass(frozen=True)
class Completeness:
    score: int  # 0–100
    missing: list[tuple[str, str]]  # (field, label)


def completeness(
    customer: Any,
    *,
    has_contacts: bool | None = None,
    at: dt.datetime | None = None,
    required: list[str] | None = None,
) -> Completeness:
    """`required`: customers.required_fields already read (a list page asks once)."""
    if required is None:
        required = policy.get("customers.required_fields", at=at)
    if not required:
        return Completeness(100, [])
    missing = []
    for name in required:
        if name == "contacts":
            present = (
                has_contacts if has_contacts is not None else customer.contacts.alive().exists()
            )
        elif name in _FK_FIELDS:
            present = getattr(customer, f"{name}_id") is not None
        else:
            value = getattr(customer, name)
            present = value is not None and value != ""
        if not present:
            missing.append((name, str(CHECKABLE_FIELDS[name])))
    score = round(100 * (len(required) - len(missing)) / len(required))
    return Completeness(score, missing)


@dataclass(frozen=True)
class FilingDeadline:
    first_contact_on: dt.date
    due_on: dt.date
    filed_on: dt.date
    late: bool
    workdays: int


def filing_deadline(customer: Any) -> FilingDeadline | None:
    """A new customer must be filed within N working days of the first contact."""
    if customer.first_contact_on is None or customer.created_at is None:
        return None
    workdays = policy.get("customers.filing_deadline_workdays", at=customer.created_at)
    due_on = add_workdays(customer.first_contact_on, workdays)
    filed_on = timezone.localdate(customer.created_at)
    return FilingDeadline(customer.first_contact_on, due_on, filed_on, filed_on > due_on, workdays)


def is_stale(customer: Any, *, at: dt.datetime | None = None) -> bool:
    at = at or timezone.now()
    days = policy.get("customers.freshness_days", at=at)
    return customer.updated_at < at - dt.timedelta(days=days)
