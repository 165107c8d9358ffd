"""Writing the demo company: the organisation through org.services, reference data, then
customer plans bulk-written in batches inside one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from guanxi import policy
from guanxi.audit.context import AuditContext, using
from guanxi.audit.models import AuditEvent
from guanxi.customers.dedup.normalise import normalise_name
from guanxi.customers.demo.data import (
    BATCH_SIZE,
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    DEPARTMENTS,
    INDUSTRIES,
    REGIONS,
    TAGS,
)
from guanxi.customers.demo.generator import CustomerPlan, DemoError, DemoGenerator
from guanxi.customers.models import (
    Contact,
    ContactRelation,
    Customer,
    Industry,
    Region,
    SpecialDate,
    Tag,
)
from guanxi.org import services as org_services
from guanxi.org.models import Department, User


def demo_users_in_database() -> list[User]:
    """The demo accounts present, in DEMO_USERS order. A user counts only if both the
    username and the name match, so a real company's "admin" is never taken for one."""
    expected = {u.username: u.name for u in DEMO_USERS}
    found = {
        user.username: user
        for user in User.objects.filter(username__in=expected)
        .select_related("department")
        .prefetch_related("groups")
        if user.name == expected[user.username]
    }
    return [found[u.username] for u in DEMO_USERS if u.username in found]


# --- writing ----------------------------------------------------------------------------------
@dataclass
class SeedSummary:
    departments: int = 0
    users: int = 0
    customers: int = 0
    contacts: int = 0
    relations: int = 0
    special_dates: int = 0
    audit_events: int = 0
    appended: bool = False


@contextlib.contextmanager
def _historical_timestamps() -> Iterator[None]:
    """Let bulk_create store the generated creation/update moments.

    auto_now/auto_now_add would stamp every demo row with this second; a demo spread over
    three years needs its own timestamps (filing deadlines and freshness derive from them).
    """
    fields = [
        Customer._meta.get_field("created_at"),
        Customer._meta.get_field("updated_at"),
        Contact._meta.get_field("created_at"),
        Contact._meta.get_field("updated_at"),
        AuditEvent._meta.get_field("at"),
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _organisation_state() -> str:
    """Return "empty", "demo" (the demo company is there) or "foreign" (someone else's)."""
    if not User.objects.exists():
        return "empty"
    if len(demo_users_in_database()) == len(DEMO_USERS):
        return "demo"
    return "foreign"


def _ensure_organisation(summary: SeedSummary) -> tuple[dict[str, Department], dict[str, User]]:
    departments: dict[str, Department] = {}
    for spec in DEPARTMENTS:
        parent = departments.get(spec.parent) if spec.parent else None
        existing = Department.objects.filter(parent=parent, name=spec.name).first()
        if existing is None:
            existing = org_services.department_create(
                actor=None, name=spec.name, parent=parent, kind=spec.kind, code=spec.code
            )
            summary.departments += 1
        departments[spec.name] = existing
    users = {
        u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])
    }
    for index, spec in enumerate(DEMO_USERS, start=1):
        if spec.username in users:
            continue
        user = org_services.user_create(
            actor=None,
            username=spec.username,
            password=DEMO_PASSWORD,
            name=spec.name,
            department=departments[spec.department],
            roles=list(spec.roles),
            email=f"{spec.username}@guanxi.example",
            mobile=f"1390000{index:04d}",
            title=spec.title,
        )
        if spec.superuser:
            user = org_services.user_update(actor=None, user=user, is_staff=True, is_superuser=True)
        users[spec.username] = user
        summary.users += 1
    return departments, users


def _ensure_reference_data() -> tuple[dict[str, Region], dict[str, Industry], dict[str, Tag]]:
    regions = {}
    for index, (name, code) in enumerate(REGIONS):
        region = (
            Region.objects.filter(code=code).first() or Region.objects.filter(name=name).first()
        )
        if region is None:
            region = Region.objects.create(name=name, code=code, sort_order=index)
        regions[code] = region
    industries = {}
    for index, spec in enumerate(INDUSTRIES):
        industries[spec.name], _created = Industry.objects.get_or_create(
            name=spec.name, defaults={"sort_order": index}
        )
    tags = {}
    for name, colour in TAGS:
        tags[name], _created = Tag.objects.get_or_create(name=name, defaults={"colour": colour})
    return regions, industries, tags


def _policy_codes() -> dict[str, list[str]]:
    def codes(key: str) -> list[str]:
        return [entry["code"] for entry in policy.get(key)]

    return {
        "types": codes("customers.types"),
        "grades": codes("grading.bands"),
        "statuses": codes("cooperation.ladder"),
        "credit_levels": codes("credit.levels"),
    }


@dataclass
class _Context:
    users: dict[str, User]
    departments: dict[str, Department]
    regions: dict[str, Region]
    industries: dict[str, Industry]
    tags: dict[str, Tag]
    type_labels: dict[str, str]


def _write(plans: list[CustomerPlan], ctx: _Context, summary: SeedSummary) -> None:
    customers = []
    for plan in plans:
        owner = ctx.users[plan.owner]
        customers.append(
            Customer(
                name=plan.name,
                name_normalised=normalise_name(plan.name),
                credit_code=plan.credit_code,
                legal_representative=plan.legal_representative,
                registered_capital=plan.registered_capital,
                business_scope=plan.business_scope,
                address=plan.address,
                postcode=plan.postcode,
                phone=plan.phone,
                fax=plan.fax,
                email=plan.email,
                website=plan.website,
                industry=ctx.industries[plan.industry] if plan.industry else None,
                customer_type=plan.customer_type,
                region=ctx.regions[plan.region],
                department=ctx.departments[plan.branch],
                source_channel=plan.source_channel,
                owner=owner,
                value_tier=plan.value_tier,
                cooperation_status=plan.cooperation_status,
                grade=plan.grade,
                credit_level=plan.credit_level,
                secrecy_level=plan.secrecy_level,
                first_contact_on=plan.first_contact_on,
                notes=plan.notes,
                created_by=owner,
                created_at=plan.created_at,
                updated_at=plan.updated_at,
            )
        )
    with _historical_timestamps():
        Customer.objects.bulk_create(customers, batch_size=500)
        tag_rows, co_owner_rows, contacts, events = [], [], [], []
        for plan, customer in zip(plans, customers, strict=True):
            tag_rows += [
                Customer.tags.through(customer_id=customer.pk, tag_id=ctx.tags[t].pk)
                for t in plan.tags
            ]
            if plan.co_owner and plan.co_owner != plan.owner:
                co_owner_rows.append(
                    Customer.co_owners.through(
                        customer_id=customer.pk, user_id=ctx.users[plan.co_owner].pk
                    )
                )
            for item in plan.contacts:
                contacts.append(
                    Contact(
                        customer_id=customer.pk,
                        name=item.name,
                        title=item.title,
                        mobile=item.mobile,
                        phone=item.phone,
                        email=item.email,
                        birthday=item.birthday,
                        hobbies=item.hobbies,
                        notes=item.notes,
                        deal_role=item.deal_role,
                        is_primary=item.is_primary,
                        created_at=plan.created_at,
                        updated_at=plan.updated_at,
                    )
                )
            owner = ctx.users[plan.owner]
            changes = {
                "name": [None, plan.name],
                "credit_code": [None, plan.credit_code or None],
                "owner": [None, owner.display_name],
                "department": [None, plan.branch],
                "customer_type": [None, ctx.type_labels.get(plan.customer_type) or None],
                "contacts": [None, [c.name for c in plan.contacts]],
            }
            events.append(
                AuditEvent(
                    at=plan.created_at,
                    actor=owner,
                    actor_name=owner.display_name,
                    action="customer.created",
                    object_type="customers.customer",
                    object_id=str(customer.pk),
                    object_repr=plan.name[:200],
                    customer_id=customer.pk,
                    changes={k: v for k, v in changes.items() if v[1] is not None},
                    note="演示数据",
                    source="seed",
                )
            )
        Customer.tags.through.objects.bulk_create(tag_rows, batch_size=2000)
        Customer.co_owners.through.objects.bulk_create(co_owner_rows, batch_size=2000)
        Contact.objects.bulk_create(contacts, batch_size=500)
        AuditEvent.objects.bulk_create(events, batch_size=500)

    relations, dates = [], []
    position = 0
    for plan, customer in zip(plans, customers, strict=True):
        mine = contacts[position : position + len(plan.contacts)]
        position += len(plan.contacts)
        seen = set()
        for source, target, kind, strength in plan.relations:
            if source == target or (source, target, kind) in seen:
                continue
            seen.add((source, target, kind))
            relations.append(
                ContactRelation(
                    customer_id=customer.pk,
                    source_id=mine[source].pk,
                    target_id=mine[target].pk,
                    kind=kind,
                    strength=strength,
                )
            )
        for item in plan.special_dates:
            dates.append(
                SpecialDate(
                    customer_id=customer.pk,
                    contact_id=mine[item.contact].pk if item.contact is not None else None,
                    kind=item.kind,
                    date=item.date,
                    recurring=item.recurring,
                    remind_days_before=item.remind_days_before,
                    note=item.note,
                )
            )
    ContactRelation.objects.bulk_create(relations, batch_size=1000)
    SpecialDate.objects.bulk_create(dates, batch_size=1000)

    summary.customers += len(customers)
    summary.contacts += len(contacts)
    summary.relations += len(relations)
    summary.special_dates += len(dates)
    summary.audit_events += len(events)


def seed_demo(
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedSummary:
    """Create the demo company (or add customers to it) in one transaction.

    Refuses to touch a database whose users are not the demo company's.
    """
    state = _organisation_state()
    if state == "foreign":
        raise DemoError(
            "数据库中已有非演示用户，不能混入演示数据。请使用空数据库（例如设置 GUANXI_VAR_DIR 或 DATABASE_URL）。"
        )
    now = now or timezone.now()
    summary = SeedSummary(appended=state == "demo")
    with using(AuditContext(source="seed")), transaction.atomic():
        departments, users = _ensure_organisation(summary)
        regions, industries, tags = _ensure_reference_data()
        ctx = _Context(
            users=users,
            departments=departments,
            regions=regions,
            industries=industries,
            tags=tags,
            type_labels={entry["code"]: entry["label"] for entry in policy.get("customers.types")},
        )
        existing = Customer.objects.count()
        generator = DemoGenerator(
            # Adding to an existing demo continues with fresh random numbers.
            seed=seed + existing,
            now=now,
            codes=_policy_codes(),
            taken_names=set(Customer.objects.values_list("name", flat=True)) if existing else None,
            taken_credit_codes=set(
                Customer.objects.exclude(credit_code="").values_list("credit_code", flat=True)
            )
            if existing
            else None,
        )
        done = 0
        while done < customers:
            size = min(BATCH_SIZE, customers - done)
            _write([generator.customer() for _ in range(size)], ctx, summary)
            done += size
            if progress is not None:
                progress(done, customers)
    return summary
