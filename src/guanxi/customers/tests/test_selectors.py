"""Reads of the archive: search, filters, sorting, masking and export limits, in scope."""

import pytest

from guanxi.core.errors import NotFound
from guanxi.core.testing import REAL_CREDIT_CODES, make_customer, make_user
from guanxi.customers import selectors, services
from guanxi.customers.models import Region, Tag
from guanxi.policy.services import policy_set


@pytest.fixture
def book(org):
    east = Region.objects.create(name="华东", code="east")
    return {
        "xinghe": make_customer(
            org.sales_bj,
            name="北京星河建材有限公司",
            credit_code=REAL_CREDIT_CODES["小米科技有限责任公司"],
            customer_type="trading",
            contacts=[{"name": "欧阳娜娜", "mobile": "13812345678"}],
        ),
        "gangwan": make_customer(
            org.sales_tj,
            name="天津港湾贸易有限公司",
            customer_type="construction",
            phone="022-66778899",
        ),
        "dongfang": make_customer(
            org.sales_sh,
            name="上海东方星河建设股份有限公司",
            region=east.pk,
            contacts=[{"name": "司马光", "mobile": "13987654321"}],
        ),
    }


def found(actor, **kwargs):
    return {c.name for c in selectors.customer_list(actor=actor, **kwargs)}


def test_two_character_chinese_substring(org, book):
    assert found(org.gm, search="星河") == {"北京星河建材有限公司", "上海东方星河建设股份有限公司"}
    assert found(org.gm, search="港") == {"天津港湾贸易有限公司"}


def test_search_never_leaves_the_scope(org, book):
    assert found(org.sales_bj, search="星河") == {"北京星河建材有限公司"}
    assert found(org.supervisor_north, search="星河") == {"北京星河建材有限公司"}
    assert found(org.sales_sh, search="司马") == {"上海东方星河建设股份有限公司"}
    assert found(org.sales_bj, search="司马") == set()


def test_search_by_contact_name_mobile_tail_phone_and_credit_code(org, book):
    assert found(org.gm, search="欧阳") == {"北京星河建材有限公司"}
    assert found(org.gm, search="5678") == {"北京星河建材有限公司"}
    assert found(org.gm, search="66778899") == {"天津港湾贸易有限公司"}
    assert found(org.gm, search="91110108551385082q") == {"北京星河建材有限公司"}


def test_deleted_contacts_are_not_searched(org, book):
    contact = book["xinghe"].contacts.get()
    services.contact_delete(actor=org.sales_bj, contact_id=contact.pk)
    assert found(org.gm, search="欧阳") == set()


def test_filters_and_sort(org, book):
    tag = Tag.objects.create(name="重点客户")
    book["gangwan"].tags.add(tag)
    assert found(org.gm, customer_type="trading") == {"北京星河建材有限公司"}
    assert found(org.gm, owner_id=org.sales_tj.pk) == {"天津港湾贸易有限公司"}
    assert found(org.gm, tag_ids=[tag.pk]) == {"天津港湾贸易有限公司"}
    assert found(org.gm, region_id=book["dongfang"].region_id) == {"上海东方星河建设股份有限公司"}
    assert found(org.gm, department_id=org.tianjin.pk) == {"天津港湾贸易有限公司"}
    by_name = [c.name for c in selectors.customer_list(actor=org.gm, sort="name")]
    assert by_name == sorted(by_name)


def test_customer_get_is_404_for_missing_forbidden_deleted_and_garbage(org, book):
    assert (
        selectors.customer_get(actor=org.sales_bj, pk=book["xinghe"].pk).name
        == "北京星河建材有限公司"
    )
    for pk in (book["dongfang"].pk, 10**9, "abc", None):
        with pytest.raises(NotFound):
            selectors.customer_get(actor=org.sales_bj, pk=pk)
    services.customer_delete(actor=org.director, customer_id=book["xinghe"].pk)
    with pytest.raises(NotFound):
        selectors.customer_get(actor=org.sales_bj, pk=book["xinghe"].pk)


def test_recycle_bin_is_scoped(org, book):
    services.customer_delete(actor=org.gm, customer_id=book["dongfang"].pk)
    services.customer_delete(actor=org.gm, customer_id=book["gangwan"].pk)
    assert {c.name for c in selectors.recycle_bin(actor=org.supervisor_north)} == {
        "天津港湾贸易有限公司"
    }
    assert {c.name for c in selectors.recycle_bin(actor=org.gm)} == {
        "天津港湾贸易有限公司",
        "上海东方星河建设股份有限公司",
    }


def test_phones_masked_outside_own_customers_default_and_override(org, book):
    customer = selectors.customer_get(actor=org.supervisor_north, pk=book["xinghe"].pk)
    assert not selectors.phones_visible(actor=org.supervisor_north, customer=customer)
    assert selectors.display_phone("13812345678", visible=False) == "138****5678"
    mine = selectors.customer_get(actor=org.sales_bj, pk=book["xinghe"].pk)
    assert selectors.phones_visible(actor=org.sales_bj, customer=mine)
    book["xinghe"].co_owners.add(org.supervisor_north)
    helper = selectors.customer_get(actor=org.supervisor_north, pk=book["xinghe"].pk)
    assert selectors.phones_visible(actor=org.supervisor_north, customer=helper)
    policy_set(actor=org.admin, values={"compliance.mask_phones": False}, note="内部系统不脱敏")
    other = selectors.customer_get(actor=org.gm, pk=book["xinghe"].pk)
    assert selectors.phones_visible(actor=org.gm, customer=other)


def test_export_limit_default_and_override(org):
    assert selectors.export_limit(actor=org.sales_bj) == 500
    assert selectors.export_limit(actor=org.supervisor_north) == 5000
    assert selectors.export_limit(actor=org.gm) == 20000
    both = make_user("salesperson", "supervisor", department=org.beijing)
    assert selectors.export_limit(actor=both) == 5000
    policy_set(
        actor=org.admin,
        values={"customers.export_max_rows": {"salesperson": 100, "*": 1000}},
        note="收紧导出",
    )
    assert selectors.export_limit(actor=org.sales_bj) == 100
    assert selectors.export_limit(actor=org.supervisor_north) == 1000


def test_list_query_count_does_not_grow_with_rows(org, django_assert_max_num_queries):
    for index in range(30):
        make_customer(
            org.sales_bj,
            name=f"北京测试{index}有限公司",
            contacts=[{"name": f"联系人{index}"}],
            tags=["老客户"],
        )
    with django_assert_max_num_queries(4):
        rows = list(selectors.customer_list(actor=org.sales_bj))
        assert len(rows) == 30
        assert all(row.has_contacts and row.is_mine for row in rows)
        assert {t.name for row in rows for t in row.tags.all()} == {"老客户"}
