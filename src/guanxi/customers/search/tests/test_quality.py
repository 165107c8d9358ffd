"""The data quality page: completeness and freshness per owner and department, exact on a
hand-built archive, inside the scope, following the policy in force."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guanxi.core.testing import make_customer, make_user, valid_credit_code
from guanxi.customers import services
from guanxi.customers.models import Customer, Industry
from guanxi.customers.search import quality
from guanxi.policy.services import policy_set

URL = "/customers/quality/"
REQUIRED = ["name", "credit_code", "phone", "industry", "contacts"]


@pytest.fixture
def archive(org):
    """A: complete, fresh · B: no credit code, no contact · C: complete, stale ·
    D: no phone, stale · E: its only contact deleted · F: no industry · G: deleted."""
    policy_set(
        actor=org.admin,
        values={"customers.required_fields": REQUIRED, "customers.freshness_days": 30},
        note="测试数据质量",
    )
    industry = Industry.objects.create(name="建材贸易").pk
    contact = [{"name": "联系人", "mobile": "13800001111"}]

    def add(owner, name, **data):
        data.setdefault("credit_code", valid_credit_code())
        data.setdefault("phone", "010-12345678")
        data.setdefault("industry", industry)
        data.setdefault("contacts", contact)
        return make_customer(owner, name=name, **{k: v for k, v in data.items() if v is not None})

    c = {
        "A": add(org.sales_bj, "北京甲有限公司"),
        "B": add(org.sales_bj, "北京乙有限公司", credit_code=None, contacts=None),
        "C": add(org.sales_bj, "北京丙有限公司"),
        "D": add(org.sales_tj, "天津丁有限公司", phone=None),
        "E": add(org.sales_tj, "天津戊有限公司"),
        "F": add(org.sales_sh, "上海己有限公司", industry=None),
        "G": add(org.sales_sh, "上海庚有限公司", phone=None),
    }
    services.contact_delete(actor=org.sales_tj, contact_id=c["E"].contacts.get().pk)
    services.customer_delete(actor=org.keeper, customer_id=c["G"].pk)
    old = timezone.now() - dt.timedelta(days=40)
    Customer.objects.filter(pk__in=[c["C"].pk, c["D"].pk, c["G"].pk]).update(updated_at=old)
    return c


def groups(rows):
    return {row.name: (row.total, row.incomplete, row.stale, row.either) for row in rows}


def test_exact_numbers_for_the_whole_archive(org, archive):
    summary = quality.quality_summary(actor=org.gm)
    assert (summary.total, summary.incomplete, summary.stale, summary.either) == (6, 4, 2, 5)
    assert {field: count for field, _label, count in summary.missing} == {
        "name": 0, "credit_code": 1, "phone": 1, "industry": 1, "contacts": 2,
    }  # fmt: skip
    assert groups(summary.by_owner) == {
        "张伟": (3, 1, 1, 2),
        "李娜": (2, 2, 1, 2),
        "王芳": (1, 1, 0, 1),
    }
    assert groups(summary.by_department) == {
        "北京分公司": (3, 1, 1, 2),
        "天津办事处": (2, 2, 1, 2),
        "上海分公司": (1, 1, 0, 1),
    }


def test_numbers_stay_inside_the_scope(org, archive):
    summary = quality.quality_summary(actor=org.supervisor_north)
    assert (summary.total, summary.incomplete, summary.stale, summary.either) == (5, 3, 2, 4)
    assert set(groups(summary.by_department)) == {"北京分公司", "天津办事处"}
    mine = quality.quality_summary(actor=org.sales_bj)
    assert (mine.total, mine.incomplete, mine.stale, mine.either) == (3, 1, 1, 2)
    assert groups(mine.by_owner) == {"张伟": (3, 1, 1, 2)}


def test_the_list_to_fix(org, archive):
    def names(**kwargs):
        return [c.name for c in quality.customers_to_fix(actor=org.gm, **kwargs)]

    # oldest update first
    assert names()[:2] in (
        ["北京丙有限公司", "天津丁有限公司"],
        ["天津丁有限公司", "北京丙有限公司"],
    )
    assert set(names()) == {
        "北京乙有限公司",
        "北京丙有限公司",
        "天津丁有限公司",
        "天津戊有限公司",
        "上海己有限公司",
    }
    assert set(names(problem="stale")) == {"北京丙有限公司", "天津丁有限公司"}
    assert set(names(problem="incomplete")) == {
        "北京乙有限公司",
        "天津丁有限公司",
        "天津戊有限公司",
        "上海己有限公司",
    }
    assert set(names(owner_id=org.sales_tj.pk)) == {"天津丁有限公司", "天津戊有限公司"}
    assert set(names(department_id=org.shanghai.pk)) == {"上海己有限公司"}
    assert [c.name for c in quality.customers_to_fix(actor=org.sales_sh)] == ["上海己有限公司"]


def test_the_policy_in_force_decides(org, archive):
    policy_set(
        actor=org.admin,
        values={"customers.required_fields": ["name"], "customers.freshness_days": 60},
        note="放宽",
    )
    summary = quality.quality_summary(actor=org.gm)
    assert (summary.total, summary.incomplete, summary.stale, summary.either) == (6, 0, 0, 0)
    policy_set(
        actor=org.admin,
        values={"customers.required_fields": ["postcode", "registered_capital", "owner"]},
        note="收紧",
    )
    summary = quality.quality_summary(actor=org.gm)
    assert summary.incomplete == 6
    assert {f: n for f, _l, n in summary.missing} == {
        "postcode": 6,
        "registered_capital": 6,
        "owner": 0,
    }


def test_missing_conditions_match_the_per_record_completeness(org, archive):
    from guanxi.customers.completeness import completeness

    current = quality.rules()
    for customer in Customer.objects.alive():
        missing = {f for f, _label in completeness(customer).missing}
        for field in current.required:
            in_db = Customer.objects.filter(quality.missing_q(field), pk=customer.pk).exists()
            assert in_db == (field in missing), (customer.name, field)


# --- the page --------------------------------------------------------------------------------
def _number(html, block, attribute):
    section = html.split(f'id="{block}"', 1)[1]
    return int(re.search(rf"{attribute}>([\d,]+)<", section).group(1).replace(",", ""))


def test_page_shows_the_numbers_and_the_list(client, org, archive):
    client.force_login(org.gm)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert _number(html, "quality-totals", "data-total") == 6
    assert _number(html, "quality-totals", "data-incomplete") == 4
    assert _number(html, "quality-totals", "data-stale") == 2
    assert _number(html, "quality-totals", "data-either") == 5
    assert reverse("customer_detail", args=[archive["B"].pk]) in html
    assert "上海庚有限公司" not in html  # deleted
    assert "北京甲有限公司" not in html.split('id="to-fix"')[1]  # nothing to fix
    stale = client.get(URL, {"problem": "stale"}).content.decode().split('id="to-fix"')[1]
    assert "北京丙有限公司" in stale and "北京乙有限公司" not in stale


def test_page_respects_the_scope(client, org, archive):
    client.force_login(org.sales_bj)
    html = client.get(URL).content.decode()
    assert _number(html, "quality-totals", "data-total") == 3
    assert "天津丁有限公司" not in html and "李娜" not in html
    # another owner's id in the URL shows nothing of theirs
    html = client.get(URL, {"owner": org.sales_tj.pk}).content.decode()
    assert "天津丁有限公司" not in html


def test_page_permissions(client, org, archive):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(make_user(department=org.hq, username="nobody"))
    assert client.get(URL).status_code == 403


def test_page_queries_do_not_grow_with_the_archive(client, org, archive):
    client.force_login(org.gm)
    client.get(URL)  # warm the policy cache like a running server
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(15):
        make_customer(org.sales_tj, name=f"天津批量{i}有限公司")
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
