"""`seed-demo` builds a deterministic, valid demo company; `print-demo-logins` lists it."""

from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from guanxi.audit.models import AuditEvent
from guanxi.core.china import MOBILE_RE, POSTCODE_RE, credit_code_problem
from guanxi.customers import demo
from guanxi.customers.models import (
    Contact,
    ContactRelation,
    Customer,
    Industry,
    Region,
    SpecialDate,
    Tag,
)
from guanxi.org.models import Department, User
from guanxi.org.roles import ROLE_CODES

N = 60


class _Rollback(Exception):
    pass


def _seed(**options):
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def _snapshot():
    return [
        (c.name, c.credit_code, c.owner.username, c.grade, [ct.mobile for ct in c.contacts.all()])
        for c in Customer.objects.select_related("owner")
        .prefetch_related("contacts")
        .order_by("name")
    ]


@pytest.fixture
def seeded(db):
    _seed(customers=N, seed=7)


def test_the_same_seed_gives_the_same_company(db):
    runs = []
    for _ in range(2):
        # Each run in a fresh database: everything is rolled back afterwards.
        try:
            with transaction.atomic():
                _seed(customers=N, seed=7)
                runs.append(_snapshot())
                raise _Rollback
        except _Rollback:
            pass
        assert not User.objects.exists()
    assert len(runs[0]) == N
    assert runs[0] == runs[1]

    _seed(customers=N, seed=8)
    assert _snapshot() != runs[0]


def test_counts_roles_and_reference_data(seeded):
    assert Customer.objects.count() == N
    assert User.objects.count() == len(demo.DEMO_USERS)
    assert Department.objects.count() == len(demo.DEPARTMENTS)
    assert Region.objects.count() == 7
    assert Industry.objects.count() >= 20
    assert (
        Tag.objects.filter(
            name__in=[
                "重点客户",
                "战略合作",
                "国企",
                "民营",
                "上市公司",
                "招投标",
                "老客户",
                "新开发",
            ]
        ).count()
        == 8
    )
    present = {code for user in User.objects.all() for code in user.role_codes()}
    assert present == set(ROLE_CODES)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password(demo.DEMO_PASSWORD)
    hq = Department.objects.get(name="总部", parent=None)
    assert {d.name for d in hq.children.all()} >= {
        "华北大区",
        "华东大区",
        "华南大区",
        "西南大区",
        "财务部",
        "客服中心",
        "法务部",
        "档案室",
        "信息中心",
    }
    assert Department.objects.get(name="成都分公司").parent.name == "西南大区"
    # Set-up went through org.services: their audit rows, marked as seed data.
    assert AuditEvent.objects.filter(action="user.created", source="seed").count() == len(
        demo.DEMO_USERS
    )
    assert AuditEvent.objects.filter(action="department.created", source="seed").count() == len(
        demo.DEPARTMENTS
    )


def test_customers_are_valid_and_complete(seeded):
    customers = list(Customer.objects.select_related("owner", "department"))
    names = [c.name for c in customers]
    assert len(set(names)) == len(names)
    assert len({demo.name_core(n) for n in names}) == len(names)  # no fuzzy duplicates either
    codes = [c.credit_code for c in customers if c.credit_code]
    assert len(set(codes)) == len(codes)
    assert all(credit_code_problem(code) is None for code in codes)
    assert all(POSTCODE_RE.match(c.postcode) for c in customers if c.postcode)
    types = {"construction", "trading", "operation_center", "engineering_retail", ""}
    for customer in customers:
        assert customer.name.endswith("公司")
        assert customer.customer_type in types
        assert customer.cooperation_status in {"green", "blue", "yellow", "white", "black"}
        assert customer.grade in {"A", "B", "C"}
        assert customer.credit_level in {"level1", "level2", "level3"}
        # The owner is a salesperson of the customer's branch.
        assert customer.owner.role_codes() == ["salesperson"]
        assert customer.department_id == customer.owner.department_id
        assert customer.created_at <= customer.updated_at
    events = AuditEvent.objects.filter(action="customer.created")
    assert events.count() == N
    assert set(events.values_list("source", flat=True)) == {"seed"}
    assert set(events.values_list("customer_id", flat=True)) == {c.pk for c in customers}


def test_contacts_relations_and_dates_are_valid(seeded):
    for customer in Customer.objects.prefetch_related("contacts"):
        contacts = list(customer.contacts.all())
        assert 1 <= len(contacts) <= 4
        assert sum(c.is_primary for c in contacts) == 1
    mobiles = list(Contact.objects.values_list("mobile", flat=True))
    assert all(MOBILE_RE.match(m) for m in mobiles)
    assert len(set(mobiles)) == len(mobiles)
    for relation in ContactRelation.objects.select_related("source", "target"):
        assert relation.source_id != relation.target_id
        assert relation.source.customer_id == relation.target.customer_id == relation.customer_id
    assert ContactRelation.objects.exists()
    assert SpecialDate.objects.filter(kind="birthday", contact__isnull=False).exists()
    for item in SpecialDate.objects.filter(contact__isnull=False).select_related("contact"):
        assert item.contact.customer_id == item.customer_id


def test_if_empty_is_a_no_op_the_second_time(seeded):
    before = (Customer.objects.count(), User.objects.count(), AuditEvent.objects.count())
    out = _seed(customers=N, seed=7, if_empty=True)
    assert "已有用户" in out
    assert (Customer.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before


def test_without_if_empty_it_adds_customers_to_the_demo_company(seeded):
    out = _seed(customers=10, seed=7)
    assert "追加" in out
    assert Customer.objects.count() == N + 10
    assert User.objects.count() == len(demo.DEMO_USERS)
    names = list(Customer.objects.values_list("name", flat=True))
    assert len({demo.name_core(n) for n in names}) == len(names)


def test_refuses_to_mix_demo_data_into_a_real_company(org):
    with pytest.raises(CommandError, match="非演示用户"):
        _seed(customers=5)
    assert not Customer.objects.exists()


def test_print_demo_logins(seeded):
    out = StringIO()
    call_command("print_demo_logins", stdout=out)
    text = out.getvalue()
    assert demo.DEMO_PASSWORD in text
    for heading in ("用户名", "姓名", "角色", "部门"):
        assert heading in text
    assert "admin" in text and "系统管理员" in text
    assert "zhangwei" in text and "北京分公司" in text


def test_print_demo_logins_without_demo_users(org):
    # The `org` fixture has an "admin" too, but not the demo one: nothing to print.
    out = StringIO()
    call_command("print_demo_logins", stdout=out)
    assert "seed-demo" in out.getvalue()
    assert demo.DEMO_PASSWORD not in out.getvalue()


def test_demo_password_satisfies_the_validators(db):
    validate_password(demo.DEMO_PASSWORD, User(username="admin", name="吴建国"))


def test_every_page_renders_on_demo_data(seeded, client):
    """Realistic data through the real pages: the 360 page of every demo customer, the
    list and the home page, as the general manager and as a salesperson."""
    from django.urls import reverse

    manager = User.objects.filter(groups__role__code="general_manager").first()
    seller = User.objects.filter(groups__role__code="salesperson").first()
    client.force_login(manager)
    for pk in Customer.objects.values_list("pk", flat=True):
        response = client.get(reverse("customer_detail", args=[pk]))
        assert response.status_code == 200, pk
    for user in (manager, seller):
        client.force_login(user)
        assert client.get(reverse("customer_list")).status_code == 200
        assert client.get(reverse("home")).status_code == 200
        assert client.get(reverse("customer_list"), {"q": "建"}).status_code == 200
