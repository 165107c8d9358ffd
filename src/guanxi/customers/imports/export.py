"""Exporting a customer list to .xlsx (客户导出). Policy: customers.export_max_rows,
compliance.mask_phones, cooperation.ladder (status colours).

Any list the user can produce (the list page's filters, the API's, the CLI's) is read
through customers.selectors.customer_list — only what the actor may see — and the export is
refused over the actor's limit and audited by customers.services.customer_export_record.

Layouts:
- "statistics": the seeds' 客户统计表 — 序号, 客户, 分支机构, 主要负责人, 联系方式, 合作状态,
  表示颜色, with the status colour (cooperation.ladder) as the 表示颜色 cell's fill.
- "full": every archive column, headed so that the importer recognises each one (a full
  export can be corrected and imported back; masked phones are ignored on the way in).

Phones (customer phone and fax, contacts' mobiles and phones) are masked outside the
actor's own customers, as on the list page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import IO, Any

import xlsxwriter
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.customers import selectors, services
from guanxi.customers.imports.columns import FULL_HEADERS, STATISTICS_HEADERS
from guanxi.customers.imports.rows import COLOUR_NAMES
from guanxi.customers.models import Contact, Customer
from guanxi.policy.selectors import choices as policy_choices

LAYOUTS = ("statistics", "full")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 2000


def export_filename(layout: str) -> str:
    title = _("客户统计表") if layout == "statistics" else _("客户档案")
    return f"{title}-{timezone.localdate():%Y%m%d}.xlsx"


_STATISTICS_FIELDS = [
    "name", "phone", "cooperation_status", "owner_id", "department_id", "owner__name",
    "owner__username", "owner__first_name", "owner__last_name", "department__name",
]  # fmt: skip


def customers_for_export(*, actor: Any, layout: str = "full", **filters: Any) -> Any:
    """The actor's customer list (customer_list filters) with what the writer reads; the
    statistics layout loads only its seven columns' data."""
    live = Contact.objects.filter(deleted_at__isnull=True).order_by("-is_primary", "id")
    contacts = Prefetch("contacts", queryset=live, to_attr="live_contacts")
    customers = selectors.customer_list(actor=actor, **filters)
    if layout == "statistics":
        return (
            customers.select_related(None)
            .select_related("owner", "department")
            .prefetch_related(None)
            .prefetch_related(contacts)
            .only(*_STATISTICS_FIELDS)
        )
    return customers.prefetch_related("co_owners", contacts)


def customer_export(
    *,
    actor: Any,
    output: IO[bytes] | str,
    layout: str = "full",
    filters: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the actor's filtered customer list to `output` (path or binary file) and
    return the number of rows. Refused (ValidationFailed / PermissionDenied) over the
    actor's limit or without customers.export_customer; audited otherwise.
    `progress(rows written, total)` is called every few thousand rows."""
    if layout not in LAYOUTS:
        layout = "full"
    customers = customers_for_export(actor=actor, layout=layout, **(filters or {}))
    count = customers.count()
    used = dict(summary if summary is not None else filters or {})
    if layout != "full":
        used["layout"] = layout
    services.customer_export_record(actor=actor, count=count, filters=used)
    write_workbook(
        actor=actor,
        customers=customers,
        layout=layout,
        output=output,
        progress=(lambda done: progress(done, count)) if progress is not None else None,
    )
    return count


class _Labels:
    def __init__(self) -> None:
        self.types = dict(policy_choices("customers.types"))
        self.ladder = {e["code"]: e for e in policy.get("cooperation.ladder")}
        self.grades = dict(policy_choices("grading.bands"))
        self.credit = dict(policy_choices("credit.levels"))
        self.channels = dict(Customer.SourceChannel.choices)
        self.tiers = dict(Customer.ValueTier.choices)
        self.secrecy = dict(Customer._meta.get_field("secrecy_level").choices)

    def status(self, code: str) -> str:
        entry = self.ladder.get(code)
        return entry["label"] if entry else code


def _is_dark(colour: str) -> bool:
    try:
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    except (ValueError, IndexError):
        return False
    return red * 0.299 + green * 0.587 + blue * 0.114 < 140


def _contact(customer: Customer) -> Contact | None:
    contacts = getattr(customer, "live_contacts", None)
    return contacts[0] if contacts else None


_WIDTHS = {"客户": 36, "客户名称": 36, "统一社会信用代码": 22, "经营范围": 40, "地址": 36}


def write_workbook(
    *,
    actor: Any,
    customers: Any,
    layout: str,
    output: IO[bytes] | str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the rows (no limit or audit here: customer_export does both first)."""
    workbook = xlsxwriter.Workbook(
        output, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(_("客户统计表") if layout == "statistics" else _("客户档案"))
    header_format = workbook.add_format(
        {"bold": True, "bg_color": "#1D3557", "font_color": "#FFFFFF", "border": 1}
    )
    headers = [_(h) for h in (STATISTICS_HEADERS if layout == "statistics" else FULL_HEADERS)]
    for index, header in enumerate(headers):
        sheet.set_column(index, index, _WIDTHS.get(header, 14 if index else 6))
    sheet.write_row(0, 0, headers, header_format)
    sheet.freeze_panes(1, 0)
    labels = _Labels()
    fills: dict[str, Any] = {}

    def fill(code: str) -> Any:
        if code not in fills:
            colour = labels.ladder.get(code, {}).get("colour", "")
            fills[code] = (
                workbook.add_format(
                    {
                        "bg_color": colour,
                        "font_color": "#FFFFFF" if _is_dark(colour) else "#000000",
                        "border": 1,
                        "align": "center",
                    }
                )
                if colour
                else None
            )
        return fills[code]

    row = 0
    for row, customer in enumerate(customers.iterator(chunk_size=_CHUNK), start=1):
        visible = selectors.phones_visible(actor=actor, customer=customer)
        if layout == "statistics":
            values = _statistics_row(row, customer, visible, labels)
            sheet.write_row(row, 0, values[:-1])
            sheet.write(row, len(values) - 1, values[-1], fill(customer.cooperation_status))
        else:
            values = _full_row(row, customer, visible, labels)
            sheet.write_row(row, 0, values[:21])
            sheet.write(row, 21, values[21], fill(customer.cooperation_status))
            sheet.write_row(row, 22, values[22:])
        if progress is not None and row % _CHUNK == 0:
            progress(row)
    if row:
        sheet.autofilter(0, 0, row, len(headers) - 1)
    if progress is not None:
        progress(row)
    workbook.close()
    return row


def _phone(value: str, visible: bool) -> str:
    return selectors.display_phone(value, visible=visible) if value else ""


def _statistics_row(number: int, customer: Customer, visible: bool, labels: _Labels) -> list:
    contact = _contact(customer)
    phone = (contact.mobile or contact.phone) if contact else ""
    return [
        number,
        customer.name,
        customer.department.name,
        customer.owner.display_name,
        _phone(phone or customer.phone, visible),
        labels.status(customer.cooperation_status),
        COLOUR_NAMES.get(customer.cooperation_status, ""),
    ]


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _full_row(number: int, customer: Customer, visible: bool, labels: _Labels) -> list:
    contact = _contact(customer)
    capital = customer.registered_capital
    return [
        number,
        customer.name,
        customer.credit_code,
        customer.legal_representative,
        float(capital) if capital is not None else "",
        customer.business_scope,
        customer.address,
        customer.postcode,
        _phone(customer.phone, visible),
        _phone(customer.fax, visible),
        customer.email,
        customer.website,
        customer.industry.name if customer.industry_id else "",
        labels.types.get(customer.customer_type, customer.customer_type),
        customer.region.name if customer.region_id else "",
        customer.department.name,
        customer.owner.display_name,
        "、".join(u.display_name for u in customer.co_owners.all()),
        str(labels.channels.get(customer.source_channel, customer.source_channel)),
        str(labels.tiers.get(customer.value_tier, customer.value_tier)),
        labels.status(customer.cooperation_status),
        COLOUR_NAMES.get(customer.cooperation_status, ""),
        labels.grades.get(customer.grade, customer.grade),
        labels.credit.get(customer.credit_level, customer.credit_level),
        str(labels.secrecy.get(customer.secrecy_level, customer.secrecy_level)),
        _date(customer.first_contact_on),
        "、".join(tag.name for tag in customer.tags.all()),
        contact.name if contact else "",
        contact.title if contact else "",
        _phone(contact.mobile, visible) if contact else "",
        _phone(contact.phone, visible) if contact else "",
        contact.email if contact else "",
        customer.notes,
        _date(customer.created_at),
        _date(customer.updated_at),
    ]
