"""The audit search page: holders of audit.view_auditevent only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import record
from guanxi.core.testing import make_customer
from guanxi.customers import services

URL = reverse("audit_search")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def events(org):
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
        bj = make_customer(org.sales_bj, name="北京星河建材有限公司")
    with time_machine.travel(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI), tick=False):
        sh = make_customer(org.sales_sh, name="上海浦江工程有限公司")
        services.customer_update(
            actor=org.sales_sh, customer_id=sh.pk, data={"address": "上海市浦东新区世纪大道100号"}
        )
    return bj, sh


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("username", ["sales_bj", "sup_north", "director", "finance", "service"])
def test_without_permission_403(client, org, username):
    client.force_login(org.sales_bj.__class__.objects.get(username=username))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("username", ["admin", "gm", "keeper"])
def test_auditors_see_the_log(client, org, events, username):
    client.force_login(org.sales_bj.__class__.objects.get(username=username))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "审计日志" in html
    assert "新建客户档案" in html and "修改客户档案" in html
    assert "北京星河建材有限公司" in html and "上海浦江工程有限公司" in html
    assert "上海市浦东新区世纪大道100号" in html  # old → new of the change


def _names(response):
    return [event.object_repr for event in response.context["page"].object_list]


def test_filters(client, org, events):
    bj, sh = events
    client.force_login(org.admin)
    assert set(_names(client.get(URL, {"text": "星河"}))) == {bj.name}
    assert _names(client.get(URL, {"action": "customer.updated"})) == [sh.name]
    assert set(_names(client.get(URL, {"action": "customer."}))) == {bj.name, sh.name}
    assert set(_names(client.get(URL, {"actor": org.sales_bj.pk}))) == {bj.name}
    assert set(_names(client.get(URL, {"customer": sh.pk}))) == {sh.name}
    assert set(_names(client.get(URL, {"since": "2026-02-01"}))) == {sh.name}
    assert set(_names(client.get(URL, {"until": "2026-01-31"}))) == {bj.name}
    assert _names(client.get(URL, {"since": "2026-01-06", "until": "2026-02-09"})) == []


def test_invalid_filters_are_ignored(client, org, events):
    client.force_login(org.admin)
    response = client.get(
        URL, {"customer": "abc", "since": "not-a-date", "actor": "x", "page": "999"}
    )
    assert response.status_code == 200
    assert len(_names(response)) == AuditEvent.objects.count()


def test_paginated_50_per_page(client, org):
    for i in range(55):
        record(
            actor=org.admin,
            action="policy.version_created",
            object_type="policy.policyversion",
            note=f"第{i}次",
        )
    client.force_login(org.admin)
    first = client.get(URL, {"action": "policy."})
    second = client.get(URL, {"action": "policy.", "page": 2})
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "第 51–55 条，共 55 条" in second.content.decode()


def test_query_count_does_not_grow_with_rows(client, org, django_assert_max_num_queries):
    for i in range(50):
        record(
            actor=org.sales_bj,
            action="customer.viewed",
            object_type="customers.customer",
            customer_id=i + 1,
        )
    client.force_login(org.admin)
    with django_assert_max_num_queries(15):
        assert client.get(URL).status_code == 200
