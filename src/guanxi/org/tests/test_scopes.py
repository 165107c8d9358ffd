"""The five data scopes, resolved once (org.scopes) and applied by visible_to."""

import pytest

from guanxi.core.testing import make_customer, make_user
from guanxi.customers.models import Contact, Customer
from guanxi.org.models import Role
from guanxi.org.scopes import CHANGE, VIEW, department_subtree, resolve_scope


@pytest.fixture
def book(org):
    """One customer per salesperson branch, plus one owned by the northern supervisor."""
    return {
        "bj": make_customer(
            org.sales_bj,
            name="北京星河建材有限公司",
            contacts=[{"name": "王经理", "mobile": "13812345678"}],
        ),
        "tj": make_customer(org.sales_tj, name="天津港湾贸易有限公司"),
        "sh": make_customer(org.sales_sh, name="上海东方建设工程股份有限公司"),
        "north": make_customer(org.supervisor_north, name="华北大区直属客户有限公司"),
    }


def names(user, action=VIEW):
    return set(Customer.objects.visible_to(user, action).values_list("name", flat=True))


def test_self_scope_sees_only_own_customers(org, book):
    assert names(org.sales_bj) == {"北京星河建材有限公司"}
    assert names(org.sales_sh) == {"上海东方建设工程股份有限公司"}


def test_co_owner_sees_the_customer_too(org, book):
    book["sh"].co_owners.add(org.sales_bj)
    assert names(org.sales_bj) == {"北京星河建材有限公司", "上海东方建设工程股份有限公司"}


def test_department_and_below(org, book):
    assert names(org.supervisor_north) == {
        "北京星河建材有限公司",
        "天津港湾贸易有限公司",
        "华北大区直属客户有限公司",
    }
    assert department_subtree(org.north.pk) == {org.north.pk, org.beijing.pk, org.tianjin.pk}


def test_own_department_only(org, book):
    role = Role.objects.get(code="supervisor")
    role.data_scope = Role.DataScope.DEPARTMENT
    role.save()
    beijing_lead = make_user("supervisor", department=org.beijing)
    assert names(beijing_lead) == {"北京星河建材有限公司"}


def test_custom_departments(org, book):
    role = Role.objects.create(name="华东稽核", code="east_audit", data_scope=Role.DataScope.CUSTOM)
    role.custom_departments.set([org.shanghai, org.tianjin])
    auditor = make_user("east_audit", department=org.hq)
    assert names(auditor) == {"天津港湾贸易有限公司", "上海东方建设工程股份有限公司"}


def test_all_scope(org, book):
    assert names(org.gm) == {c.name for c in book.values()}
    assert names(org.finance) == {c.name for c in book.values()}


def test_read_only_roles_see_all_but_change_nothing(org, book):
    assert names(org.service, VIEW) == {c.name for c in book.values()}
    assert names(org.service, CHANGE) == set()
    assert resolve_scope(org.service, CHANGE).nothing


def test_multiple_roles_union(org, book):
    org.sales_sh.groups.add(Role.objects.get(code="supervisor"))
    fresh = type(org.sales_sh).objects.get(pk=org.sales_sh.pk)
    # supervisor scope of 上海分公司 (no children) plus own records
    assert names(fresh) == {"上海东方建设工程股份有限公司"}
    fresh2 = make_user("salesperson", "supervisor", department=org.east)
    assert names(fresh2) == {"上海东方建设工程股份有限公司"}


def test_anonymous_and_inactive_see_nothing(org, book):
    from django.contrib.auth.models import AnonymousUser

    assert names(AnonymousUser()) == set()
    org.gm.is_active = False
    org.gm.save()
    assert names(type(org.gm).objects.get(pk=org.gm.pk)) == set()


def test_user_without_roles_sees_own_records_only(org, book):
    nobody = make_user(department=org.beijing)
    assert names(nobody) == set()


def test_children_follow_their_customer(org, book):
    assert set(Contact.objects.visible_to(org.sales_bj).values_list("name", flat=True)) == {
        "王经理"
    }
    assert Contact.objects.visible_to(org.sales_sh).count() == 0
    assert Contact.objects.visible_to(org.supervisor_north).count() == 1


def test_scope_is_resolved_once_per_user_object(org, book, django_assert_num_queries):
    user = type(org.supervisor_north).objects.get(pk=org.supervisor_north.pk)
    names(user)
    with django_assert_num_queries(1):
        names(user)
