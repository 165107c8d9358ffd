"""Keyset pagination (customers.search.pagination): every row exactly once, whatever the
ties on the sort key, forwards and backwards; in the list page and the API."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.core.testing import api_client, make_customer
from guanxi.customers import selectors
from guanxi.customers.models import Customer
from guanxi.customers.search.pagination import Cursor, keyset_page

SORTS = ["updated", "-updated", "name", "-name", "created", "-created"]


@pytest.fixture
def tied(org):
    """23 customers whose update times come in groups of 5 identical values (ties)."""
    base = timezone.now() - dt.timedelta(days=3)
    Customer.objects.bulk_create(
        Customer(name=f"北京分页{i % 4}号{i:02d}有限公司", department=org.beijing,
                 owner=org.sales_bj, created_by=org.sales_bj)
        for i in range(23)
    )  # fmt: skip
    customers = list(Customer.objects.order_by("pk"))
    for i, customer in enumerate(customers):
        moment = base + dt.timedelta(minutes=i // 5)
        Customer.objects.filter(pk=customer.pk).update(updated_at=moment, created_at=moment)
    return customers


def walk(actor, sort, size):
    queryset = selectors.customer_list(actor=actor, sort=sort)
    pages, cursor = [], None
    while True:
        page = keyset_page(queryset, sort=sort, cursor=cursor, size=size)
        pages.append(page)
        if not page.has_next:
            return pages
        cursor = Cursor.decode(page.next_cursor)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("size", [1, 5, 7])
def test_every_row_exactly_once_in_list_order(org, tied, sort, size):
    expected = [c.pk for c in selectors.customer_list(actor=org.sales_bj, sort=sort)]
    pages = walk(org.sales_bj, sort, size)
    seen = [c.pk for page in pages for c in page.rows]
    assert seen == expected
    assert len(pages) == -(-len(expected) // size)
    assert [len(page.rows) for page in pages[:-1]] == [size] * (len(pages) - 1)
    assert not pages[0].has_previous and pages[0].previous_cursor is None
    assert all(page.has_previous for page in pages[1:])


@pytest.mark.parametrize("sort", ["updated", "name", "-created"])
def test_previous_pages_walk_back_to_the_start(org, tied, sort):
    queryset = selectors.customer_list(actor=org.sales_bj, sort=sort)
    forwards = walk(org.sales_bj, sort, 4)
    page = forwards[-1]
    backwards = [page]
    while page.has_previous:
        page = keyset_page(queryset, sort=sort, cursor=Cursor.decode(page.previous_cursor), size=4)
        backwards.append(page)
    assert [[c.pk for c in p.rows] for p in backwards[::-1]] == [
        [c.pk for c in p.rows] for p in forwards
    ]


def test_pages_stay_inside_the_scope(org, tied):
    other = make_customer(org.sales_tj, name="天津分页外客户有限公司")
    seen = {c.pk for page in walk(org.sales_bj, "updated", 5) for c in page.rows}
    assert other.pk not in seen and len(seen) == 23


def test_a_cursor_from_another_sort_starts_again(org, tied):
    queryset = selectors.customer_list(actor=org.sales_bj, sort="name")
    first = keyset_page(queryset, sort="name", cursor=None, size=5)
    foreign = Cursor(sort="updated", key=timezone.now(), id=1)
    assert [c.pk for c in keyset_page(queryset, sort="name", cursor=foreign, size=5).rows] == [
        c.pk for c in first.rows
    ]


@pytest.mark.parametrize(
    "text", ["", "abc", "!!!", "eyJzIjoieCJ9", "eyJzIjoibmFtZSIsImsiOjEsImkiOjEsImIiOjB9"]
)
def test_damaged_cursors_are_refused(text):
    with pytest.raises(ValueError):
        Cursor.decode(text)


# --- the list page ---------------------------------------------------------------------------
def _links(html, rel):
    return [m.replace("&amp;", "&") for m in re.findall(rf'rel="{rel}" href="([^"]+)"', html)]


def test_list_page_next_and_previous_links(client, org):
    for i in range(53):
        make_customer(org.sales_bj, name=f"北京列表分页{i:02d}有限公司")
    client.force_login(org.sales_bj)
    url = reverse("customer_list")
    first = client.get(url, {"sort": "name"}).content.decode()
    assert first.count("北京列表分页") == 50
    assert "共 53 位客户" in first
    (next_link,) = _links(first, "next")
    second = client.get(url + next_link).content.decode()
    assert second.count("北京列表分页") == 3
    assert "北京列表分页52有限公司" in second and "北京列表分页49有限公司" not in second
    assert _links(second, "next") == []
    (previous,) = _links(second, "prev")
    again = client.get(url + previous).content.decode()
    assert again.count("北京列表分页") == 50 and "北京列表分页00有限公司" in again
    # a damaged cursor shows the first page
    assert client.get(url, {"cursor": "garbage"}).status_code == 200


def test_list_page_counts_up_to_a_cap(client, org, monkeypatch):
    from guanxi.customers.search import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    for i in range(60):
        make_customer(org.sales_bj, name=f"北京计数{i:02d}有限公司")
    client.force_login(org.sales_bj)
    html = client.get(reverse("customer_list")).content.decode()
    assert "共 3+ 位客户" in html


# --- the API ---------------------------------------------------------------------------------
def test_api_cursor_pages_keep_results_and_drop_the_count(org, tied):
    client = api_client(org.sales_bj)
    seen, url, params = [], "/api/customers/", {"cursor": "", "page_size": 5}
    while url:
        body = client.get(url, params).json()
        assert set(body) == {"next", "previous", "results"}
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == [c.pk for c in selectors.customer_list(actor=org.sales_bj)]


def test_api_previous_link_and_sort(org, tied):
    client = api_client(org.sales_bj)
    first = client.get(
        "/api/customers/", {"cursor": "", "page_size": 10, "ordering": "name"}
    ).json()
    second = client.get(first["next"]).json()
    assert first["previous"] is None and second["previous"]
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    names = [r["name"] for r in first["results"] + second["results"]]
    assert names == sorted(names)


def test_api_damaged_cursor_is_a_field_error(org, tied):
    response = api_client(org.sales_bj).get("/api/customers/", {"cursor": "garbage"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["detail"]) == ["cursor"]


def test_api_page_numbers_still_work(org, tied):
    body = api_client(org.sales_bj).get("/api/customers/", {"page": 2, "page_size": 10}).json()
    assert body["count"] == 23 and len(body["results"]) == 10
