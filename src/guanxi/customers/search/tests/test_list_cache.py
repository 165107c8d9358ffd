"""What the customer list caches between requests (customers.search.viewer): one user's
permissions, roles, scope and owner choices are never served to another, and any change to
the tables they come from (kept by triggers, migration 0007) is seen at the next request."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from guanxi.core.testing import make_customer
from guanxi.customers.models import Tag
from guanxi.customers.search import viewer
from guanxi.org.models import Role

pytestmark = pytest.mark.usefixtures("empty_cache")

URL = reverse("customer_list")


@pytest.fixture
def book(org):
    return {
        "bj": make_customer(org.sales_bj, name="北京星河建材有限公司"),
        "tj": make_customer(org.sales_tj, name="天津港湾贸易有限公司"),
        "sh": make_customer(org.sales_sh, name="上海浦江物流有限公司"),
    }


def page(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_one_users_cached_scope_is_never_served_to_another(client, org, book):
    # Warm the cache with a wide scope, then ask as users with narrow ones (same process,
    # same cache, same archive versions).
    html = page(client, org.supervisor_north)
    assert "北京星河建材有限公司" in html and "天津港湾贸易有限公司" in html
    html = page(client, org.sales_bj)
    assert "北京星河建材有限公司" in html
    assert "天津港湾贸易有限公司" not in html and "上海浦江物流有限公司" not in html
    html = page(client, org.sales_sh)
    assert "上海浦江物流有限公司" in html and "北京星河建材有限公司" not in html
    # the owner filter offers each user their own choices
    assert f'<option value="{org.sales_tj.pk}"' not in html
    html = page(client, org.supervisor_north)
    assert f'<option value="{org.sales_tj.pk}"' in html
    assert "上海浦江物流有限公司" not in html


def test_cached_facts_name_their_user(org):
    facts = viewer.viewer(org.sales_bj, viewer.versions())
    assert facts.user_id == org.sales_bj.pk
    with pytest.raises(ValueError):
        viewer.apply(org.sales_tj, facts)


def test_a_role_change_is_seen_at_the_next_request(client, org, book):
    html = page(client, org.sales_bj)
    assert "上海浦江物流有限公司" not in html
    org.sales_bj.groups.add(Role.objects.get(code="general_manager"))  # all data
    html = page(client, org.sales_bj)
    assert "上海浦江物流有限公司" in html
    org.sales_bj.groups.remove(Role.objects.get(code="general_manager"))
    assert "上海浦江物流有限公司" not in page(client, org.sales_bj)


def test_a_role_scope_or_permission_change_is_seen(client, org, book):
    role = Role.objects.get(code="salesperson")
    assert "天津港湾贸易有限公司" not in page(client, org.sales_bj)
    role.data_scope = Role.DataScope.ALL
    role.save()
    assert "天津港湾贸易有限公司" in page(client, org.sales_bj)
    Group.objects.get(pk=role.pk).permissions.clear()  # no view permission left
    client.force_login(org.sales_bj)
    assert client.get(URL).status_code == 403


def test_a_department_move_and_a_new_tag_are_seen(client, org, book):
    html = page(client, org.supervisor_north)
    assert "上海浦江物流有限公司" not in html
    org.supervisor_north.department = org.shanghai
    org.supervisor_north.save()
    html = page(client, org.supervisor_north)
    assert "上海浦江物流有限公司" in html and "天津港湾贸易有限公司" not in html
    Tag.objects.create(name="缓存新标签")
    assert "缓存新标签" in page(client, org.supervisor_north)
