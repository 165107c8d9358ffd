"""Customer pages: list/search/export, 360 page, forms, recycle bin, attachments.

Each page: the happy path plus the permission matrix — anonymous (login redirect), no
permission (403), out of scope (404, like missing), in scope (200). Denied writes assert
that nothing changed.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import make_customer, make_user, valid_credit_code
from guanxi.customers.models import Attachment, Contact, ContactRelation, Customer, SpecialDate, Tag
from guanxi.policy.services import policy_set

BJ_MOBILE = "13812345678"
BJ_MASKED = "138****5678"


@pytest.fixture
def data(org):
    """One customer per salesperson; sales_bj's has a contact with a mobile and a tag."""

    class Data:
        pass

    d = Data()
    d.org = org
    d.bj = make_customer(
        org.sales_bj,
        name="北京星河建材有限公司",
        credit_code=valid_credit_code(1),
        customer_type="trading",
        address="北京市朝阳区建国路88号",
        contacts=[{"name": "王经理", "mobile": BJ_MOBILE, "is_primary": True}],
    )
    d.bj.tags.set([Tag.objects.create(name="重点客户")])
    d.tj = make_customer(
        org.sales_tj,
        name="天津海港贸易有限公司",
        customer_type="construction",
        contacts=[{"name": "赵主任", "mobile": "13900001111"}],
    )
    d.sh = make_customer(
        org.sales_sh,
        name="上海浦江工程有限公司",
        contacts=[{"name": "钱总", "mobile": "13700002222"}],
    )
    d.bj_contact = d.bj.contacts.get()
    d.sh_contact = d.sh.contacts.get()
    return d


def login(client, user):
    client.force_login(user)
    return client


def assert_login_redirect(response):
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def no_role_user(org):
    return make_user(department=org.beijing, username="nobody")


def read_only_user(org):
    """客服: sees every customer (all scope) but holds no write or export permission."""
    return org.service


def east_director(org):
    """A director with delete/restore permissions whose scope is 华东 only."""
    return make_user("sales_director", department=org.east, username="director_east")


def xlsx_rows(response):
    """The exported workbook's first sheet as rows of text (read back with calamine)."""
    from python_calamine import CalamineWorkbook

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_index(0).to_python()
    return [["" if cell is None else str(cell).removesuffix(".0") for cell in row] for row in rows]


STATISTICS = {"layout": "statistics"}


# --- list and search -------------------------------------------------------------------------
class TestCustomerList:
    url = reverse("customer_list")

    def test_anonymous_is_sent_to_login(self, client, data):
        assert_login_redirect(client.get(self.url))

    def test_user_without_permission_gets_403(self, client, data):
        assert login(client, no_role_user(data.org)).get(self.url).status_code == 403

    def test_salesperson_sees_only_own_customers(self, client, data):
        response = login(client, data.org.sales_bj).get(self.url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "客户列表" in html
        assert data.bj.name in html
        assert data.tj.name not in html
        assert data.sh.name not in html
        assert "贸易公司" in html  # type label from policy
        assert "重点客户" in html  # tag badge
        assert "北京分公司" in html

    def test_supervisor_sees_department_and_below_not_other_regions(self, client, data):
        html = login(client, data.org.supervisor_north).get(self.url).content.decode()
        assert data.bj.name in html
        assert data.tj.name in html
        assert data.sh.name not in html

    def test_search_by_chinese_substring(self, client, data):
        html = login(client, data.org.sales_bj).get(self.url, {"q": "星河"}).content.decode()
        assert data.bj.name in html

    def test_search_never_reaches_out_of_scope_customers(self, client, data):
        html = login(client, data.org.sales_sh).get(self.url, {"q": "星河"}).content.decode()
        assert data.bj.name not in html
        assert "没有找到与“星河”相关的客户" in html
        html = (
            login(client, data.org.supervisor_north).get(self.url, {"q": "浦江"}).content.decode()
        )
        assert data.sh.name not in html

    @pytest.mark.parametrize("query", ["王经理", "5678", "1381234"])
    def test_search_by_contact_name_or_phone(self, client, data, query):
        html = login(client, data.org.sales_bj).get(self.url, {"q": query}).content.decode()
        assert data.bj.name in html

    def test_search_by_credit_code(self, client, data):
        html = (
            login(client, data.org.sales_bj)
            .get(self.url, {"q": data.bj.credit_code[:10]})
            .content.decode()
        )
        assert data.bj.name in html

    def test_filters_type_owner_tag(self, client, data):
        c = login(client, data.org.supervisor_north)
        html = c.get(self.url, {"type": "construction"}).content.decode()
        assert data.tj.name in html and data.bj.name not in html
        html = c.get(self.url, {"owner": data.org.sales_bj.pk}).content.decode()
        assert data.bj.name in html and data.tj.name not in html
        tag = Tag.objects.get(name="重点客户")
        html = c.get(self.url, {"tag": tag.pk}).content.decode()
        assert data.bj.name in html and data.tj.name not in html

    def test_invalid_filter_values_are_ignored(self, client, data):
        response = login(client, data.org.sales_bj).get(
            self.url, {"owner": "abc", "region": "999999", "sort": "bogus", "page": "x"}
        )
        assert response.status_code == 200
        assert data.bj.name in response.content.decode()

    def test_phones_masked_outside_own_customers(self, client, data):
        html = login(client, data.org.supervisor_north).get(self.url).content.decode()
        assert BJ_MASKED in html
        assert BJ_MOBILE not in html
        client.logout()
        html = login(client, data.org.sales_bj).get(self.url).content.decode()
        assert BJ_MOBILE in html

    def test_co_owned_customers_show_numbers_in_full(self, client, data):
        data.tj.co_owners.add(data.org.sales_bj)
        html = login(client, data.org.sales_bj).get(self.url).content.decode()
        assert data.tj.name in html
        assert "13900001111" in html  # co-owned: the actor's own customer
        assert "139****1111" not in html

    def test_a_policy_change_is_seen_at_the_next_request(self, client, data):
        c = login(client, data.org.supervisor_north)
        html = c.get(self.url).content.decode()
        assert BJ_MASKED in html and BJ_MOBILE not in html
        policy_set(actor=data.org.admin, values={"compliance.mask_phones": False}, note="off")
        html = c.get(self.url).content.decode()
        assert BJ_MOBILE in html
        policy_set(
            actor=data.org.admin, values={"customers.required_fields": ["name"]}, note="name"
        )
        assert 'style="width: 100%"' in c.get(self.url).content.decode()

    def test_deleted_customers_and_contacts_are_not_listed(self, client, data):
        from guanxi.customers.services import contact_delete, customer_delete

        contact_delete(actor=data.org.admin, contact_id=data.bj_contact.pk)
        customer_delete(actor=data.org.admin, customer_id=data.tj.pk, reason="测试")
        html = login(client, data.org.supervisor_north).get(self.url).content.decode()
        assert data.bj.name in html and "王经理" not in html
        assert data.tj.name not in html

    def test_the_updated_date_is_shown_in_local_time(self, client, data):
        import datetime as dt

        late_evening_utc = dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC)  # 2 March in Shanghai
        Customer.objects.filter(pk=data.bj.pk).update(updated_at=late_evening_utc)
        html = login(client, data.org.sales_bj).get(self.url).content.decode()
        assert "2026-03-02" in html

    def test_the_page_runs_a_fixed_set_of_queries(
        self, client, data, django_assert_max_num_queries
    ):
        # session, user, cache version tokens, page ids, page rows, total, contacts, tags;
        # permissions, roles, scope and reference names come from the list cache.
        c = login(client, data.org.supervisor_north)
        c.get(self.url)  # warm the list and policy caches like a running server
        with django_assert_max_num_queries(8):
            assert c.get(self.url).status_code == 200

    def test_htmx_request_gets_only_the_results(self, client, data):
        response = login(client, data.org.sales_bj).get(
            self.url, {"q": "星河"}, HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert "<html" not in html
        assert data.bj.name in html

    def test_pagination_50_per_page(self, client, org):
        for i in range(51):
            make_customer(org.sales_bj, name=f"北京分页测试{i:02d}有限公司")
        c = login(client, org.sales_bj)
        first = c.get(self.url, {"sort": "name"}).content.decode()
        second = c.get(self.url, {"sort": "name", "page": 2}).content.decode()
        assert first.count("北京分页测试") == 50
        assert second.count("北京分页测试") == 1
        assert "北京分页测试50有限公司" in second
        assert "共 51 位客户" in first

    def test_no_n_plus_one(self, client, org, settings, django_assert_max_num_queries):
        settings.LIST_PAGE_CACHE = False  # both requests render (page_cache has its tests)

        def build(count, start):
            for i in range(start, start + count):
                customer = make_customer(
                    org.sales_bj,
                    name=f"北京批量客户{i:02d}有限公司",
                    contacts=[{"name": f"联系人{i}", "mobile": f"139{i:08d}"}],
                )
                customer.tags.set([Tag.objects.get_or_create(name=f"标签{i % 3}")[0]])

        c = login(client, org.supervisor_north)
        build(3, 0)
        c.get(self.url)  # warm up the policy cache like a running server
        with CaptureQueriesContext(connection) as few:
            assert c.get(self.url).status_code == 200
        build(27, 3)
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = c.get(self.url)
        html = response.content.decode()
        assert html.count("北京批量客户") == 30
        assert "139****0029" in html


# --- 360 page --------------------------------------------------------------------------------
class TestCustomerDetail:
    def url(self, customer):
        return reverse("customer_detail", args=[customer.pk])

    def test_anonymous_is_sent_to_login(self, client, data):
        assert_login_redirect(client.get(self.url(data.bj)))

    def test_user_without_permission_gets_403(self, client, data):
        assert login(client, no_role_user(data.org)).get(self.url(data.bj)).status_code == 403

    def test_out_of_scope_is_404_like_missing(self, client, data):
        c = login(client, data.org.sales_bj)
        assert c.get(self.url(data.sh)).status_code == 404
        assert c.get(reverse("customer_detail", args=[999999])).status_code == 404
        assert not AuditEvent.objects.filter(action="customer.viewed").exists()

    def test_owner_sees_the_360_page_in_full(self, client, data):
        response = login(client, data.org.sales_bj).get(self.url(data.bj))
        assert response.status_code == 200
        html = response.content.decode()
        assert data.bj.name in html
        assert BJ_MOBILE in html
        assert "档案完整度" in html
        assert "法定代表人" in html  # a missing ※ field is listed
        assert "新建客户档案" in html  # history timeline
        assert "编辑档案" in html
        assert reverse("customer_delete", args=[data.bj.pk]) not in html  # no delete right

    def test_supervisor_sees_masked_phone(self, client, data):
        response = login(client, data.org.supervisor_north).get(self.url(data.bj))
        assert response.status_code == 200
        html = response.content.decode()
        assert BJ_MASKED in html
        assert BJ_MOBILE not in html

    def test_each_view_is_audited(self, client, data):
        c = login(client, data.org.supervisor_north)
        c.get(self.url(data.bj))
        c.get(self.url(data.bj))
        events = AuditEvent.objects.filter(action="customer.viewed", customer_id=data.bj.pk)
        assert events.count() == 2
        assert {e.actor_id for e in events} == {data.org.supervisor_north.pk}
        # views are audited but are not part of the customer's history
        html = c.get(self.url(data.bj)).content.decode()
        assert "查看客户档案" not in html

    def test_read_only_role_sees_no_edit_buttons(self, client, data):
        html = login(client, read_only_user(data.org)).get(self.url(data.bj)).content.decode()
        assert "编辑档案" not in html
        assert "添加联系人" not in html
        assert reverse("customer_delete", args=[data.bj.pk]) not in html

    def test_deleted_customer_is_404(self, client, data):
        Customer.objects.filter(pk=data.bj.pk).update(deleted_at="2026-01-01T00:00:00+08:00")
        assert login(client, data.org.sales_bj).get(self.url(data.bj)).status_code == 404

    def test_relation_circle_special_dates_and_filing_deadline(self, client, data):
        from guanxi.customers import services

        second = services.contact_create(
            actor=data.org.sales_bj, customer_id=data.bj.pk, data={"name": "李工"}
        )
        services.contact_relation_create(
            actor=data.org.sales_bj,
            source_id=data.bj_contact.pk,
            target_id=second.pk,
            kind="influences",
        )
        services.special_date_create(
            actor=data.org.sales_bj,
            customer_id=data.bj.pk,
            data={"kind": "company_anniversary", "date": "2010-05-18"},
        )
        services.customer_update(
            actor=data.org.sales_bj, customer_id=data.bj.pk, data={"first_contact_on": "2026-01-05"}
        )
        html = login(client, data.org.sales_bj).get(self.url(data.bj)).content.decode()
        assert "联络圈" in html and "王经理" in html and "李工" in html and "影响" in html
        assert "公司周年庆" in html and "2010-05-18" in html
        assert "建档期限" in html


# --- create ----------------------------------------------------------------------------------
class TestCustomerCreate:
    url = reverse("customer_create")

    def post_data(self, **overrides):
        payload = {
            "name": "北京新建测试有限公司",
            "credit_code": "",
            "customer_type": "trading",
            "address": "北京市海淀区中关村大街1号",
            "secrecy_level": "normal",
            "contact_name": "孙经理",
            "contact_mobile": "13812340000",
            "tags": "重点、新客户",
        }
        payload.update(overrides)
        return payload

    def test_anonymous_is_sent_to_login(self, client, org):
        assert_login_redirect(client.get(self.url))
        assert_login_redirect(client.post(self.url, self.post_data()))
        assert not Customer.objects.exists()

    def test_without_add_permission_403_and_nothing_saved(self, client, org):
        c = login(client, read_only_user(org))
        assert c.get(self.url).status_code == 403
        assert c.post(self.url, self.post_data()).status_code == 403
        assert not Customer.objects.exists()

    def test_form_page(self, client, org):
        response = login(client, org.sales_bj).get(self.url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "新建客户" in html and "统一社会信用代码" in html and "※" in html
        assert "信用代码校验豁免原因" not in html  # only archive keepers may override

    def test_happy_path(self, client, org):
        response = login(client, org.sales_bj).post(self.url, self.post_data())
        customer = Customer.objects.get(name="北京新建测试有限公司")
        assert response.status_code == 302
        assert response["Location"] == reverse("customer_detail", args=[customer.pk])
        assert customer.owner == org.sales_bj
        assert customer.department == org.beijing
        assert customer.contacts.get().mobile == "13812340000"
        assert sorted(customer.tags.values_list("name", flat=True)) == ["新客户", "重点"]

    def test_invalid_credit_code_message_next_to_field(self, client, org):
        response = login(client, org.sales_bj).post(
            self.url, self.post_data(credit_code="91110000710926094X")
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert "统一社会信用代码校验位错误" in form.errors["credit_code"][0]
        assert "提交的数据有误" in form.non_field_errors()[0]
        assert not Customer.objects.exists()

    def test_blank_name_is_refused_by_the_service(self, client, org):
        response = login(client, org.sales_bj).post(self.url, self.post_data(name="  "))
        assert response.status_code == 200
        assert response.context["form"].errors["name"]
        assert not Customer.objects.exists()

    def test_duplicate_credit_code(self, client, data):
        response = login(client, data.org.sales_bj).post(
            self.url, self.post_data(credit_code=data.bj.credit_code)
        )
        assert response.status_code == 200
        assert (
            "该统一社会信用代码已被其他客户档案使用"
            in response.context["form"].errors["credit_code"][0]
        )
        assert Customer.objects.count() == 3

    def test_bad_contact_mobile(self, client, org):
        response = login(client, org.sales_bj).post(
            self.url, self.post_data(contact_mobile="12345")
        )
        assert response.status_code == 200
        assert "手机号码应为11位" in response.context["form"].errors["contact_mobile"][0]
        assert not Customer.objects.exists()

    def test_cannot_pick_owner_outside_scope(self, client, org):
        response = login(client, org.sales_bj).post(self.url, self.post_data(owner=org.sales_sh.pk))
        assert response.status_code == 200
        assert response.context["form"].errors["owner"]
        assert not Customer.objects.exists()


# --- edit ------------------------------------------------------------------------------------
class TestCustomerEdit:
    def url(self, customer):
        return reverse("customer_edit", args=[customer.pk])

    def payload(self, customer, **overrides):
        payload = {
            "name": customer.name,
            "credit_code": customer.credit_code,
            "customer_type": customer.customer_type,
            "address": customer.address,
            "owner": customer.owner_id,
            "department": customer.department_id,
            "secrecy_level": customer.secrecy_level,
            "tags": "、".join(customer.tags.values_list("name", flat=True)),
        }
        payload.update(overrides)
        return payload

    def test_anonymous_is_sent_to_login(self, client, data):
        assert_login_redirect(client.get(self.url(data.bj)))

    def test_without_permission_403_and_unchanged(self, client, data):
        c = login(client, read_only_user(data.org))
        assert c.get(self.url(data.bj)).status_code == 403
        assert c.post(self.url(data.bj), self.payload(data.bj, address="被篡改")).status_code == 403
        data.bj.refresh_from_db()
        assert data.bj.address == "北京市朝阳区建国路88号"

    def test_out_of_scope_404_and_unchanged(self, client, data):
        c = login(client, data.org.sales_bj)
        assert c.get(self.url(data.sh)).status_code == 404
        assert c.post(self.url(data.sh), self.payload(data.sh, address="被篡改")).status_code == 404
        data.sh.refresh_from_db()
        assert data.sh.address == ""

    def test_edit_address_shows_in_history(self, client, data):
        c = login(client, data.org.sales_bj)
        assert c.get(self.url(data.bj)).status_code == 200
        response = c.post(self.url(data.bj), self.payload(data.bj, address="北京市朝阳区光华路1号"))
        assert response.status_code == 302
        data.bj.refresh_from_db()
        assert data.bj.address == "北京市朝阳区光华路1号"
        assert list(data.bj.tags.values_list("name", flat=True)) == ["重点客户"]
        html = c.get(reverse("customer_detail", args=[data.bj.pk])).content.decode()
        assert "修改客户档案" in html
        assert "地址：" in html
        assert "北京市朝阳区建国路88号" in html and "北京市朝阳区光华路1号" in html

    def test_service_error_shown_at_top_and_next_to_field(self, client, data):
        response = login(client, data.org.sales_bj).post(
            self.url(data.bj), self.payload(data.bj, postcode="abc")
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert "邮政编码应为6位数字" in form.errors["postcode"][0]
        html = response.content.decode()
        assert "提交的数据有误" in html
        data.bj.refresh_from_db()
        assert data.bj.postcode == ""

    def test_supervisor_edit_keeps_masked_phone(self, client, data):
        from guanxi.customers import services

        services.customer_update(
            actor=data.org.sales_bj, customer_id=data.bj.pk, data={"phone": "13811112222"}
        )
        c = login(client, data.org.supervisor_north)
        html = c.get(self.url(data.bj)).content.decode()
        assert "13811112222" not in html
        assert "138****2222" in html
        response = c.post(self.url(data.bj), self.payload(data.bj, phone="", address="新地址"))
        assert response.status_code == 302
        data.bj.refresh_from_db()
        assert data.bj.phone == "13811112222"
        assert data.bj.address == "新地址"


# --- delete, recycle bin, restore ------------------------------------------------------------
class TestDeleteAndRestore:
    def test_delete_anonymous(self, client, data):
        assert_login_redirect(client.post(reverse("customer_delete", args=[data.bj.pk])))
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is None

    def test_delete_without_permission_403_and_unchanged(self, client, data):
        c = login(client, data.org.sales_bj)  # salespeople may not delete
        url = reverse("customer_delete", args=[data.bj.pk])
        assert c.get(url).status_code == 403
        assert c.post(url).status_code == 403
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is None

    def test_delete_out_of_scope_404_and_unchanged(self, client, data):
        c = login(client, east_director(data.org))
        url = reverse("customer_delete", args=[data.bj.pk])
        assert c.get(url).status_code == 404
        assert c.post(url).status_code == 404
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is None

    def test_delete_confirm_then_restore(self, client, data):
        c = login(client, data.org.director)
        url = reverse("customer_delete", args=[data.bj.pk])
        confirm = c.get(url)
        assert confirm.status_code == 200
        assert "确定要删除客户“北京星河建材有限公司”吗？" in confirm.content.decode()
        response = c.post(url, {"reason": "重复建档"})
        assert response.status_code == 302
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is not None
        assert AuditEvent.objects.filter(
            action="customer.deleted", customer_id=data.bj.pk, note="重复建档"
        ).exists()
        assert c.get(reverse("customer_detail", args=[data.bj.pk])).status_code == 404
        assert data.bj.name not in c.get(reverse("customer_list")).content.decode()
        bin_html = c.get(reverse("recycle_bin")).content.decode()
        assert data.bj.name in bin_html and "恢复" in bin_html
        response = c.post(reverse("customer_restore", args=[data.bj.pk]))
        assert response.status_code == 302
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is None

    def test_recycle_bin_is_scoped(self, client, data):
        from guanxi.customers import services

        services.customer_delete(actor=data.org.director, customer_id=data.bj.pk)
        services.customer_delete(actor=data.org.director, customer_id=data.sh.pk)
        html = login(client, data.org.sales_bj).get(reverse("recycle_bin")).content.decode()
        assert data.bj.name in html
        assert data.sh.name not in html
        assert reverse("customer_restore", args=[data.bj.pk]) not in html  # no restore right

    def test_recycle_bin_anonymous_and_no_permission(self, client, data):
        assert_login_redirect(client.get(reverse("recycle_bin")))
        assert login(client, no_role_user(data.org)).get(reverse("recycle_bin")).status_code == 403

    def test_restore_denied_paths_leave_it_deleted(self, client, data):
        from guanxi.customers import services

        services.customer_delete(actor=data.org.director, customer_id=data.bj.pk)
        url = reverse("customer_restore", args=[data.bj.pk])
        assert_login_redirect(client.post(url))
        assert login(client, data.org.sales_bj).post(url).status_code == 403
        client.logout()
        c = login(client, east_director(data.org))
        assert c.post(url).status_code == 404
        assert c.get(url).status_code == 405
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is not None

    def test_restore_refusal_is_a_message_not_a_500(self, client, data):
        from guanxi.customers import services

        services.customer_delete(actor=data.org.director, customer_id=data.bj.pk)
        make_customer(data.org.sales_bj, name="占用代码的新客户", credit_code=data.bj.credit_code)
        response = login(client, data.org.director).post(
            reverse("customer_restore", args=[data.bj.pk]), follow=True
        )
        assert response.status_code == 200
        assert "已有其他客户使用相同的统一社会信用代码" in response.content.decode()
        data.bj.refresh_from_db()
        assert data.bj.deleted_at is not None


# --- export ----------------------------------------------------------------------------------
class TestExport:
    url = reverse("customer_export")

    def test_anonymous_is_sent_to_login(self, client, data):
        assert_login_redirect(client.get(self.url))

    def test_without_permission_403(self, client, data):
        assert login(client, read_only_user(data.org)).get(self.url).status_code == 403
        assert not AuditEvent.objects.filter(action="customer.exported").exists()

    def test_salesperson_exports_own_customers_with_full_numbers(self, client, data):
        response = login(client, data.org.sales_bj).get(self.url, STATISTICS)
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        rows = xlsx_rows(response)
        assert rows[0] == [
            "序号",
            "客户",
            "分支机构",
            "主要负责人",
            "联系方式",
            "合作状态",
            "表示颜色",
        ]
        assert [row[:4] for row in rows[1:]] == [["1", data.bj.name, "北京分公司", "张伟"]]
        assert BJ_MOBILE in rows[1][4]

    def test_supervisor_export_is_scoped_and_masked(self, client, data):
        response = login(client, data.org.supervisor_north).get(
            self.url, {**STATISTICS, "sort": "name"}
        )
        rows = xlsx_rows(response)
        assert {row[1] for row in rows[1:]} == {data.bj.name, data.tj.name}
        phones = " ".join(row[4] for row in rows[1:])
        assert BJ_MASKED in phones and BJ_MOBILE not in phones

    def test_full_layout_is_scoped_too(self, client, data):
        rows = xlsx_rows(login(client, data.org.supervisor_north).get(self.url))
        assert rows[0][:3] == ["序号", "客户名称", "统一社会信用代码"]
        assert {row[1] for row in rows[1:]} == {data.bj.name, data.tj.name}

    def test_export_follows_the_search(self, client, data):
        rows = xlsx_rows(
            login(client, data.org.supervisor_north).get(self.url, {**STATISTICS, "q": "星河"})
        )
        assert [row[1] for row in rows[1:]] == [data.bj.name]

    def test_export_is_audited(self, client, data):
        login(client, data.org.supervisor_north).get(self.url, {"q": "有限"})
        event = AuditEvent.objects.get(action="customer.exported")
        assert event.actor == data.org.supervisor_north
        assert event.changes["count"] == [None, 2]
        assert event.changes["filters"] == [None, {"q": "有限"}]

    def test_over_the_limit_is_refused_not_truncated(self, client, data):
        policy_set(
            actor=data.org.admin,
            values={"customers.export_max_rows": {"supervisor": 1, "*": 100}},
            note="测试",
        )
        response = login(client, data.org.supervisor_north).get(self.url, {"q": "有限"})
        assert response.status_code == 302
        assert response["Location"] == reverse("customer_list") + "?q=%E6%9C%89%E9%99%90"
        page = client.get(response["Location"]).content.decode()
        assert "超过您单次导出的上限 1 条" in page
        assert not AuditEvent.objects.filter(action="customer.exported").exists()

    def test_formula_like_names_are_written_as_text(self, client, org):
        import zipfile

        make_customer(org.sales_bj, name='=HYPERLINK("http://x")公司')
        response = login(client, org.sales_bj).get(self.url, STATISTICS)
        assert xlsx_rows(response)[1][1] == '=HYPERLINK("http://x")公司'
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet


def response_text(rows):
    return "\n".join(",".join(row) for row in rows)


# --- contacts --------------------------------------------------------------------------------
class TestContacts:
    def test_add_contact(self, client, data):
        url = reverse("contact_create", args=[data.bj.pk])
        c = login(client, data.org.sales_bj)
        assert c.get(url).status_code == 200
        response = c.post(
            url, {"name": "刘会计", "mobile": "139 1234 5678", "deal_role": "finance"}
        )
        assert response.status_code == 302
        contact = data.bj.contacts.get(name="刘会计")
        assert contact.mobile == "13912345678"

    def test_bad_mobile_shows_message_next_to_field(self, client, data):
        url = reverse("contact_create", args=[data.bj.pk])
        response = login(client, data.org.sales_bj).post(url, {"name": "刘会计", "mobile": "1234"})
        assert response.status_code == 200
        message = "手机号码应为11位中国大陆手机号，以13–19开头，例如 13812345678。"
        assert response.context["form"].errors["mobile"] == [message]
        html = response.content.decode()
        assert 'aria-invalid="true"' in html
        assert f'<div class="invalid-feedback d-block">{message}</div>' in html
        assert not Contact.objects.filter(name="刘会计").exists()

    def test_add_contact_denied(self, client, data):
        url = reverse("contact_create", args=[data.sh.pk])
        assert_login_redirect(client.post(url, {"name": "X"}))
        assert login(client, data.org.sales_bj).post(url, {"name": "X"}).status_code == 404
        client.logout()
        assert login(client, read_only_user(data.org)).post(url, {"name": "X"}).status_code == 403
        assert not Contact.objects.filter(name="X").exists()

    def test_edit_contact(self, client, data):
        url = reverse("contact_edit", args=[data.bj_contact.pk])
        c = login(client, data.org.sales_bj)
        assert BJ_MOBILE in c.get(url).content.decode()
        response = c.post(
            url, {"name": "王总", "mobile": BJ_MOBILE, "title": "总经理", "is_primary": "on"}
        )
        assert response.status_code == 302
        data.bj_contact.refresh_from_db()
        assert (data.bj_contact.name, data.bj_contact.title) == ("王总", "总经理")

    def test_edit_contact_out_of_scope(self, client, data):
        url = reverse("contact_edit", args=[data.sh_contact.pk])
        c = login(client, data.org.sales_bj)
        assert c.get(url).status_code == 404
        assert c.post(url, {"name": "被篡改"}).status_code == 404
        data.sh_contact.refresh_from_db()
        assert data.sh_contact.name == "钱总"

    def test_supervisor_edit_form_masks_the_mobile(self, client, data):
        url = reverse("contact_edit", args=[data.bj_contact.pk])
        c = login(client, data.org.supervisor_north)
        html = c.get(url).content.decode()
        assert BJ_MOBILE not in html and BJ_MASKED in html
        assert c.post(url, {"name": "王经理", "mobile": "", "title": "经理"}).status_code == 302
        data.bj_contact.refresh_from_db()
        assert data.bj_contact.mobile == BJ_MOBILE
        assert data.bj_contact.title == "经理"

    def test_delete_contact(self, client, data):
        url = reverse("contact_delete", args=[data.bj_contact.pk])
        assert login(client, data.org.sales_sh).post(url).status_code == 404
        data.bj_contact.refresh_from_db()
        assert data.bj_contact.deleted_at is None
        client.logout()
        c = login(client, data.org.sales_bj)
        assert c.get(url).status_code == 405
        assert c.post(url).status_code == 302
        data.bj_contact.refresh_from_db()
        assert data.bj_contact.deleted_at is not None


# --- relationship circle and special dates ---------------------------------------------------
class TestRelationsAndDates:
    @pytest.fixture
    def second(self, data):
        from guanxi.customers import services

        return services.contact_create(
            actor=data.org.sales_bj, customer_id=data.bj.pk, data={"name": "李工"}
        )

    def test_add_and_delete_relation(self, client, data, second):
        c = login(client, data.org.sales_bj)
        url = reverse("relation_create", args=[data.bj.pk])
        response = c.post(
            url,
            {
                "source": data.bj_contact.pk,
                "target": second.pk,
                "kind": "influences",
                "strength": 4,
            },
        )
        assert response.status_code == 302
        relation = ContactRelation.objects.get()
        assert (relation.source, relation.target, relation.strength) == (data.bj_contact, second, 4)
        delete = reverse("relation_delete", args=[data.bj.pk, relation.pk])
        assert c.post(delete).status_code == 302
        assert not ContactRelation.objects.exists()

    def test_relation_to_self_shows_the_service_message(self, client, data, second):
        url = reverse("relation_create", args=[data.bj.pk])
        response = login(client, data.org.sales_bj).post(
            url, {"source": second.pk, "target": second.pk, "kind": "influences", "strength": 3}
        )
        assert response.status_code == 200
        assert "不能与自己建立关系" in response.context["relation_form"].errors["target"][0]
        assert not ContactRelation.objects.exists()

    def test_relation_out_of_scope(self, client, data, second):
        url = reverse("relation_create", args=[data.bj.pk])
        payload = {
            "source": data.bj_contact.pk,
            "target": second.pk,
            "kind": "influences",
            "strength": 3,
        }
        assert login(client, data.org.sales_sh).post(url, payload).status_code == 404
        assert not ContactRelation.objects.exists()

    def test_relation_delete_out_of_scope(self, client, data, second):
        from guanxi.customers import services

        relation = services.contact_relation_create(
            actor=data.org.sales_bj, source_id=data.bj_contact.pk, target_id=second.pk
        )
        assert (
            login(client, data.org.sales_sh)
            .post(reverse("relation_delete", args=[data.bj.pk, relation.pk]))
            .status_code
            == 404
        )
        assert (
            login(client, data.org.sales_sh)
            .post(reverse("relation_delete", args=[data.sh.pk, relation.pk]))
            .status_code
            == 404
        )
        assert ContactRelation.objects.filter(pk=relation.pk).exists()

    def test_add_and_delete_special_date(self, client, data):
        c = login(client, data.org.sales_bj)
        url = reverse("special_date_create", args=[data.bj.pk])
        response = c.post(
            url,
            {
                "kind": "birthday",
                "date": "1980-06-01",
                "contact": data.bj_contact.pk,
                "recurring": "on",
            },
        )
        assert response.status_code == 302
        item = SpecialDate.objects.get()
        assert item.contact == data.bj_contact and item.remind_days_before == 10
        assert c.post(reverse("special_date_delete", args=[data.bj.pk, item.pk])).status_code == 302
        assert not SpecialDate.objects.exists()

    def test_special_date_without_date_shows_error(self, client, data):
        response = login(client, data.org.sales_bj).post(
            reverse("special_date_create", args=[data.bj.pk]), {"kind": "birthday"}
        )
        assert response.status_code == 200
        assert response.context["special_date_form"].errors["date"]
        assert not SpecialDate.objects.exists()

    def test_special_date_out_of_scope(self, client, data):
        from guanxi.customers import services

        item = services.special_date_create(
            actor=data.org.sales_bj,
            customer_id=data.bj.pk,
            data={"kind": "festival", "date": "2026-02-17"},
        )
        c = login(client, data.org.sales_sh)
        assert (
            c.post(
                reverse("special_date_create", args=[data.bj.pk]),
                {"kind": "birthday", "date": "2000-01-01"},
            ).status_code
            == 404
        )
        assert c.post(reverse("special_date_delete", args=[data.bj.pk, item.pk])).status_code == 404
        assert list(SpecialDate.objects.all()) == [item]


# --- attachments -----------------------------------------------------------------------------
@pytest.fixture
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


class TestAttachments:
    def upload(self, client, customer, content=b"%PDF-1.4 licence", name="营业执照.pdf"):
        return client.post(
            reverse("attachment_upload", args=[customer.pk]),
            {
                "file": SimpleUploadedFile(name, content),
                "kind": "business_licence",
                "secrecy_level": "confidential",
            },
        )

    def test_upload_download_delete(self, client, data, media):
        c = login(client, data.org.sales_bj)
        assert self.upload(c, data.bj).status_code == 302
        attachment = Attachment.objects.get()
        assert attachment.name == "营业执照.pdf" and attachment.secrecy_level == "confidential"
        html = c.get(reverse("customer_detail", args=[data.bj.pk])).content.decode()
        download = reverse("attachment_download", args=[data.bj.pk, attachment.pk])
        assert download in html and "/media/" not in html and "机密" in html
        response = c.get(download)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 licence"
        assert "attachment" in response["Content-Disposition"]
        assert (
            AuditEvent.objects.filter(
                action="attachment.downloaded", object_id=str(attachment.pk)
            ).count()
            == 1
        )
        assert (
            c.post(reverse("attachment_delete", args=[data.bj.pk, attachment.pk])).status_code
            == 302
        )
        attachment.refresh_from_db()
        assert attachment.deleted_at is not None
        assert c.get(download).status_code == 404

    def test_upload_without_file_shows_error(self, client, data, media):
        response = login(client, data.org.sales_bj).post(
            reverse("attachment_upload", args=[data.bj.pk]),
            {"kind": "other", "secrecy_level": "normal"},
        )
        assert response.status_code == 200
        assert "请选择要上传的文件" in response.context["attachment_form"].errors["file"][0]
        assert not Attachment.objects.exists()

    def test_download_out_of_scope_is_404_and_not_audited(self, client, data, media):
        self.upload(login(client, data.org.sales_bj), data.bj)
        attachment = Attachment.objects.get()
        client.logout()
        c = login(client, data.org.sales_sh)
        assert (
            c.get(reverse("attachment_download", args=[data.bj.pk, attachment.pk])).status_code
            == 404
        )
        # an attachment id under a customer it does not belong to
        assert (
            c.get(reverse("attachment_download", args=[data.sh.pk, attachment.pk])).status_code
            == 404
        )
        assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()

    def test_download_anonymous_and_no_permission(self, client, data, media):
        self.upload(login(client, data.org.sales_bj), data.bj)
        attachment = Attachment.objects.get()
        client.logout()
        url = reverse("attachment_download", args=[data.bj.pk, attachment.pk])
        assert_login_redirect(client.get(url))
        assert login(client, no_role_user(data.org)).get(url).status_code == 403

    def test_upload_and_delete_denied(self, client, data, media):
        self.upload(login(client, data.org.sales_bj), data.bj)
        attachment = Attachment.objects.get()
        client.logout()
        c = login(client, data.org.sales_sh)
        assert self.upload(c, data.bj).status_code == 404
        assert (
            c.post(reverse("attachment_delete", args=[data.bj.pk, attachment.pk])).status_code
            == 404
        )
        client.logout()
        assert self.upload(login(client, read_only_user(data.org)), data.bj).status_code == 403
        assert Attachment.objects.count() == 1
        attachment.refresh_from_db()
        assert attachment.deleted_at is None


def test_top_secret_attachment_only_for_owner_and_authorised_roles(org, client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from guanxi.audit.models import AuditEvent
    from guanxi.customers import services as customer_services

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    customer = make_customer(org.sales_bj)
    attachment = customer_services.attachment_add(
        actor=org.sales_bj,
        customer_id=customer.pk,
        file=SimpleUploadedFile("报价底线.pdf", b"secret"),
        secrecy_level="top_secret",
    )
    url = reverse("attachment_download", args=[customer.pk, attachment.pk])
    client.force_login(org.supervisor_north)  # in scope, but not authorised for 绝密
    assert client.get(url).status_code == 403
    assert (
        AuditEvent.objects.filter(
            action="attachment.download_refused", actor=org.supervisor_north
        ).count()
        == 1
    )
    for user in (org.sales_bj, org.gm, org.keeper):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == b"secret"
