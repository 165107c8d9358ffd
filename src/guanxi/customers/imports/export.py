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

Speed (export_rows_per_s): no model instances. The list is streamed as tuples (values_list)
in chunks of _CHUNK; per chunk one query each for the first live contacts and, in the full
layout, co-owners and tags; names of departments, users, industries and regions are
fetched once, as chunks bring new ids. Cells go to XlsxWriter in constant_memory mode, a row
at a time, with a format on the 表示颜色 cell only; in the full layout XlsxWriter itself is
most of the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import IO, Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.customers import selectors, services
from guanxi.customers.imports.columns import FULL_HEADERS, STATISTICS_HEADERS
from guanxi.customers.imports.rows import COLOUR_NAMES
from guanxi.customers.models import Contact, Customer, Industry, Region
from guanxi.org.models import Department, User
from guanxi.policy.selectors import choices as policy_choices

LAYOUTS = ("statistics", "full")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 2000


def export_filename(layout: str) -> str:
    title = _("客户统计表") if layout == "statistics" else _("客户档案")
    return f"{title}-{timezone.localdate():%Y%m%d}.xlsx"


def customers_for_export(*, actor: Any, layout: str = "full", **filters: Any) -> Any:
    """The actor's customer list (customer_list: scope, filters, order) to hand to
    write_workbook, which reads only the columns of `layout` from it."""
    return (
        selectors.customer_list(actor=actor, **filters).select_related(None).prefetch_related(None)
    )


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
    """What one export resolves once: code → label of every coded column; per cooperation
    status its label, colour name and 表示颜色 cell format (created on first use); id →
    name of departments, users, industries and regions (fetched as chunks need them)."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.types = dict(policy_choices("customers.types"))
        self.ladder = {e["code"]: e for e in policy.get("cooperation.ladder")}
        self.grades = dict(policy_choices("grading.bands"))
        self.credit = dict(policy_choices("credit.levels"))
        self.channels = {k: str(v) for k, v in Customer.SourceChannel.choices}
        self.tiers = {k: str(v) for k, v in Customer.ValueTier.choices}
        self.secrecy = {
            k: str(v) for k, v in Customer._meta.get_field("secrecy_level").choices or ()
        }
        self.statuses: dict[str, tuple[Any, str, Any]] = {}
        self.departments = _Names(_department_names)
        self.users = _Names(_user_names)
        self.industries = _Names(_industry_names)
        self.regions = _Names(_region_names)

    def status(self, code: str) -> tuple[Any, str, Any]:
        """(label, colour name, fill format or None) of a cooperation status."""
        found = self.statuses.get(code)
        if found is None:
            entry = self.ladder.get(code)
            colour = entry.get("colour", "") if entry else ""
            fill = (
                self.workbook.add_format(
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
            label = entry["label"] if entry else code
            found = self.statuses[code] = (label, COLOUR_NAMES.get(code, ""), fill)
        return found


def _is_dark(colour: str) -> bool:
    try:
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    except (ValueError, IndexError):
        return False
    return red * 0.299 + green * 0.587 + blue * 0.114 < 140


class _Names:
    """id → display text of a related table (departments, users, industries, regions),
    fetched with one query for the ids a chunk brings that are not known yet."""

    def __init__(self, fetch: Callable[[set[int]], Iterable[tuple[int, str]]]) -> None:
        self.fetch = fetch
        self.names: dict[int | None, str] = {None: ""}

    def load(self, ids: Iterable[int | None]) -> dict[int | None, str]:
        missing = set(ids).difference(self.names)
        if missing:
            self.names.update(self.fetch(missing))
        return self.names


def _department_names(ids: set[int]) -> Iterable[tuple[int, str]]:
    return Department.objects.filter(pk__in=ids).values_list("pk", "name")


def _user_names(ids: set[int]) -> Iterable[tuple[int, str]]:
    # Users are few: their display_name, as the pages show it.
    return [(user.pk, user.display_name) for user in User.objects.filter(pk__in=ids)]


def _industry_names(ids: set[int]) -> Iterable[tuple[int, str]]:
    return Industry.objects.filter(pk__in=ids).values_list("pk", "name")


def _region_names(ids: set[int]) -> Iterable[tuple[int, str]]:
    return Region.objects.filter(pk__in=ids).values_list("pk", "name")


def _chunks(customers: Any, fields: tuple[str, ...]) -> Iterator[list[tuple]]:
    """The customers' `fields` as tuples, in the list's order, _CHUNK at a time (one
    streamed query: no model instances)."""
    rows = (
        customers.select_related(None)
        .prefetch_related(None)
        .values_list(*fields)
        .iterator(chunk_size=_CHUNK)
    )
    while chunk := list(islice(rows, _CHUNK)):
        yield chunk


def _first_contacts(ids: list[int], fields: tuple[str, ...]) -> dict[int, tuple]:
    """Customer id → `fields` of its first live contact (the primary one, else the oldest)."""
    first: dict[int, tuple] = {}
    rows = (
        Contact.objects.filter(customer__id__in=ids, deleted_at__isnull=True)
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", *fields)
    )
    for row in rows:
        if row[0] not in first:
            first[row[0]] = row[1:]
    return first


def _joined(pairs: Iterable[tuple[int, str]]) -> dict[int, str]:
    """(customer id, text) pairs, in order → customer id → texts joined with 、."""
    found: dict[int, list[str]] = {}
    for pk, text in pairs:
        found.setdefault(pk, []).append(text)
    return {pk: "、".join(texts) for pk, texts in found.items()}


_WIDTHS = {"客户": 36, "客户名称": 36, "统一社会信用代码": 22, "经营范围": 40, "地址": 36}


def write_workbook(
    *,
    actor: Any,
    customers: Any,
    layout: str,
    output: IO[bytes] | str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the rows (no limit or audit here: customer_export does both first).
    `customers`: customers_for_export's queryset, possibly sliced (the rows' is_mine, from
    customer_list, decides the masking)."""
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
    labels = _Labels(workbook)
    write_rows = _write_statistics if layout == "statistics" else _write_full
    row = 0
    # selectors.phones_visible, decided once: masked unless mine (customer_list's is_mine).
    masked = selectors.phones_masked(actor=actor)
    for chunk in _chunks(customers, _STATISTICS_FIELDS if layout == "statistics" else _FULL_FIELDS):
        row = write_rows(sheet, row, chunk, masked, labels)
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


_STATISTICS_FIELDS = (
    "id",
    "is_mine",
    "owner_id",
    "name",
    "department_id",
    "phone",
    "cooperation_status",
)


def _write_statistics(
    sheet: Any, row: int, chunk: list[tuple], masked: bool, labels: _Labels
) -> int:
    """One chunk of 客户统计表 rows after `row`; returns the last row written."""
    ids = [r[0] for r in chunk]
    contacts = _first_contacts(ids, ("mobile", "phone"))
    departments = labels.departments.load(r[4] for r in chunk)
    users = labels.users.load(r[2] for r in chunk)
    write_row, write, status = sheet.write_row, sheet.write, labels.status
    for pk, mine, owner_id, name, department_id, phone, cooperation_status in chunk:
        row += 1
        contact = contacts.get(pk)
        number = ((contact[0] or contact[1]) if contact else "") or phone
        label, colour_name, fill = status(cooperation_status)
        write_row(
            row,
            0,
            (
                row,
                name,
                departments[department_id],
                users[owner_id],
                _phone(number, mine or not masked),
                label,
            ),
        )
        write(row, 6, colour_name, fill)
    return row


def _minutes(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    """A timestamp in local time (timezone.localtime, the zone looked up once)."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""


_FULL_FIELDS = (
    "id", "is_mine", "owner_id", "name", "credit_code", "legal_representative",
    "registered_capital", "business_scope", "address", "postcode", "phone", "fax", "email",
    "website", "industry_id", "customer_type", "region_id", "department_id", "source_channel",
    "value_tier", "cooperation_status", "grade", "credit_level", "secrecy_level",
    "first_contact_on", "notes", "created_at", "updated_at",
)  # fmt: skip
_CONTACT_FIELDS = ("name", "title", "mobile", "phone", "email")
_NO_CONTACT = ("", "", "", "", "")


def _write_full(sheet: Any, row: int, chunk: list[tuple], masked: bool, labels: _Labels) -> int:
    """One chunk of full-layout rows after `row`; returns the last row written."""
    ids = [r[0] for r in chunk]
    contacts = _first_contacts(ids, _CONTACT_FIELDS)
    co_owner_pairs = list(
        Customer.co_owners.through.objects.filter(customer__id__in=ids)
        .order_by("customer_id", "user_id")
        .values_list("customer_id", "user_id")
    )
    tags = _joined(
        Customer.tags.through.objects.filter(customer__id__in=ids)
        .order_by("customer_id", "tag__name")
        .values_list("customer_id", "tag__name")
    )
    users = labels.users.load([r[2] for r in chunk] + [user for _pk, user in co_owner_pairs])
    co_owners = _joined((pk, users[user]) for pk, user in co_owner_pairs)
    departments = labels.departments.load(r[17] for r in chunk)
    industries = labels.industries.load(r[14] for r in chunk)
    regions = labels.regions.load(r[16] for r in chunk)
    types, channels, tiers = labels.types, labels.channels, labels.tiers
    grades, credit, secrecy = labels.grades, labels.credit, labels.secrecy
    zone = timezone.get_current_timezone()
    write_row, write, status = sheet.write_row, sheet.write, labels.status
    for (
        pk, mine, owner_id, name, credit_code, legal_representative, capital, business_scope,
        address, postcode, phone, fax, email, website, industry_id, customer_type, region_id,
        department_id, source_channel, value_tier, cooperation_status, grade, credit_level,
        secrecy_level, first_contact_on, notes, created_at, updated_at,
    ) in chunk:  # fmt: skip
        row += 1
        shown = mine or not masked
        label, colour_name, fill = status(cooperation_status)
        contact_name, contact_title, mobile, contact_phone, contact_email = contacts.get(
            pk, _NO_CONTACT
        )
        write_row(
            row,
            0,
            (
                row,
                name,
                credit_code,
                legal_representative,
                float(capital) if capital is not None else "",
                business_scope,
                address,
                postcode,
                _phone(phone, shown),
                _phone(fax, shown),
                email,
                website,
                industries[industry_id],
                types.get(customer_type, customer_type),
                regions[region_id],
                departments[department_id],
                users[owner_id],
                co_owners.get(pk, ""),
                channels.get(source_channel, source_channel),
                tiers.get(value_tier, value_tier),
                label,
            ),
        )
        write(row, 21, colour_name, fill)
        write_row(
            row,
            22,
            (
                grades.get(grade, grade),
                credit.get(credit_level, credit_level),
                secrecy.get(secrecy_level, secrecy_level),
                first_contact_on.isoformat() if first_contact_on is not None else "",
                tags.get(pk, ""),
                contact_name,
                contact_title,
                _phone(mobile, shown),
                _phone(contact_phone, shown),
                contact_email,
                notes,
                _minutes(created_at, zone),
                _minutes(updated_at, zone),
            ),
        )
    return row
