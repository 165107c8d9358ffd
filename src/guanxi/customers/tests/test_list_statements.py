"""The list's first page by statements compiled once (customer_list_statements, read by
pagination.first_page) shows the rows, order, count and next cursor the ORM path
(list_page over customer_list) does, for every kind of scope, sort and filter."""

import pytest
from django.contrib.auth.models import AnonymousUser

from guanxi.core.testing import make_customer, make_user
from guanxi.customers import selectors
from guanxi.customers.models import Customer, Tag
from guanxi.customers.search import index
from guanxi.customers.search.pagination import first_page, list_page
from guanxi.customers.selectors import SORTS


def _fetch(ids):
    rows = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


def _both(actor, size, cap, monkeypatch, **selected):
    monkeypatch.setattr("guanxi.customers.search.pagination.COUNT_CAP", cap)
    orm = list_page(
        selectors.customer_list(actor=actor, **selected), actor=actor,
        sort=selected.get("sort", "updated"), size=size, fetch=_fetch,
    )  # fmt: skip
    statements = selectors.customer_list_statements(actor=actor, size=size + 1, cap=cap, **selected)
    compiled = first_page(statements, sort=selected.get("sort", "updated"), size=size, fetch=_fetch)
    return orm, compiled


def _same(orm, compiled):
    assert [c.pk for c in compiled.rows] == [c.pk for c in orm.rows]
    assert (compiled.count, compiled.capped) == (orm.count, orm.capped)
    assert (compiled.has_next, compiled.has_previous) == (orm.has_next, orm.has_previous)
    assert compiled.next_cursor == orm.next_cursor
    assert compiled.previous_cursor == orm.previous_cursor


@pytest.fixture
def archive(org):
    tag = Tag.objects.create(name="重点客户")
    made = []
    for n, owner in enumerate([org.sales_bj] * 5 + [org.sales_tj] * 3 + [org.sales_sh] * 4):
        made.append(make_customer(owner, name=f"测试{n:02d}号贸易有限公司"))
    made[9].co_owners.add(org.sales_bj)  # a Shanghai customer co-owned by Beijing
    made[1].tags.add(tag)
    made[9].tags.add(tag)
    deleted = make_customer(org.sales_bj, name="已删除的有限公司")
    Customer.objects.filter(pk=deleted.pk).update(deleted_at=deleted.created_at)
    return {"tag": tag, "customers": made}


def _users(org):
    legal = make_user("legal", department=org.hq, username="legal_x", name="法务")
    return [
        org.sales_bj, org.sales_tj, org.sales_sh, org.supervisor_north, org.director,
        org.gm, org.finance, org.service, org.keeper, org.admin, legal,
    ]  # fmt: skip


@pytest.mark.parametrize("small_scope", [False, True])
def test_the_compiled_first_page_is_the_orms_for_every_user_and_sort(
    org, archive, monkeypatch, small_scope
):
    # small_scope: every scope is read from its ids (index.small_scope_ids), as a small
    # book in a large archive is.
    monkeypatch.setattr(index, "SMALL_SHARE", 2.0 if small_scope else -1.0)
    pages = set()
    for user in _users(org):
        for sort in SORTS:
            for size, cap in ((3, 4), (3, 200), (50, 200)):
                orm, compiled = _both(user, size, cap, monkeypatch, sort=sort)
                _same(orm, compiled)
                pages.add((len(orm.rows), orm.count, orm.capped))
    assert len(pages) >= 4  # empty, short, capped and full pages all compared


def test_the_compiled_first_page_is_the_orms_with_filters(org, archive, monkeypatch):
    bj = org.sales_bj
    some = archive["customers"][9]
    filters = [
        {"owner_id": org.sales_sh.pk},
        {"tag_ids": [archive["tag"].pk]},
        {"region_id": some.region_id or 999},
        {"department_id": some.department_id},
        {"customer_type": some.customer_type or "none"},
        {"owner_id": org.sales_sh.pk, "tag_ids": [archive["tag"].pk]},
    ]
    for user in (bj, org.supervisor_north, org.gm):
        for selected in filters:
            orm, compiled = _both(user, 2, 200, monkeypatch, sort="name", **selected)
            _same(orm, compiled)


def test_a_co_owned_customer_is_on_the_co_owners_compiled_page(org, archive, monkeypatch):
    _orm, compiled = _both(org.sales_bj, 50, 200, monkeypatch)
    names = {c.name for c in compiled.rows}
    assert "测试09号贸易有限公司" in names  # co-owned
    assert "测试05号贸易有限公司" not in names  # Tianjin's
    assert "已删除的有限公司" not in names


def test_a_scope_change_compiles_new_statements(org, archive, monkeypatch):
    bj = org.sales_bj
    before = selectors.customer_list_statements(actor=bj, size=51, cap=200)
    customer = archive["customers"][5]  # Tianjin's
    customer.co_owners.add(bj)
    assert selectors.customer_list_statements(actor=bj, size=51, cap=200) == before
    _orm, compiled = _both(bj, 50, 200, monkeypatch)
    assert customer.pk in {c.pk for c in compiled.rows}  # data are read at run time
    bj.is_active = False
    bj.__dict__.pop("_scope_cache", None)
    assert selectors.customer_list_statements(actor=bj, size=51, cap=200) is None
    page = first_page(None, sort="updated", size=50, fetch=_fetch)
    assert (page.rows, page.count, page.has_next) == ([], 0, False)
    assert selectors.customer_list_statements(actor=AnonymousUser(), size=51, cap=200) is None


def test_the_owned_count_settles_only_a_capped_count(org, archive, monkeypatch):
    bj = org.sales_bj  # owns 5 live customers, co-owns 1
    statements = selectors.customer_list_statements(actor=bj, size=2, cap=4)
    assert statements.owned_sql is not None
    _orm, compiled = _both(bj, 1, 4, monkeypatch)
    assert (compiled.count, compiled.capped) == (4, True)
    _orm, compiled = _both(bj, 1, 6, monkeypatch)  # owned 5 <= cap: the full count
    assert (compiled.count, compiled.capped) == (6, False)
    assert selectors.customer_list_statements(actor=org.gm, size=2, cap=4).owned_sql is None
    filtered = selectors.customer_list_statements(actor=bj, size=2, cap=4, sort="name", owner_id=1)
    assert filtered.owned_sql is None


def test_a_small_books_statements_do_not_hold_its_ids(org, archive, monkeypatch):
    monkeypatch.setattr(index, "SMALL_SHARE", 2.0)
    monkeypatch.setattr(selectors, "_LIST_STATEMENTS", {})
    bj = org.sales_bj
    _orm, before = _both(bj, 50, 200, monkeypatch)
    added = make_customer(bj, name="新增的贸易有限公司")
    orm, after = _both(bj, 50, 200, monkeypatch)
    _same(orm, after)
    assert added.pk in {c.pk for c in after.rows}
    assert len(after.rows) == len(before.rows) + 1
    assert len(selectors._LIST_STATEMENTS) == 1  # one entry for both versions of the book
    (statements,) = selectors._LIST_STATEMENTS.values()
    assert selectors._ids_parameter(selectors._WITHIN_STAND_IN) in statements.ids_params
    assert selectors._ids_parameter(selectors._WITHIN_STAND_IN) in statements.count_params
