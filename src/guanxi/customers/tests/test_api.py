"""The customer REST API: shapes, errors, the permission matrix and data scope.

Matrix for every endpoint (STYLE §10): anonymous → 401, no permission → 403, out of scope
→ 404 exactly like a missing id, in scope → 2xx; a refused request changes nothing.
"""

import pytest
from rest_framework.test import APIClient

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import REAL_CREDIT_CODES, api_client, make_customer
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, Industry, Region
from guanxi.policy.services import policy_set

HUAWEI = REAL_CREDIT_CODES["华为技术有限公司"]
TENCENT = REAL_CREDIT_CODES["腾讯科技（深圳）有限公司"]
BAD_MOBILE = "手机号码应为11位中国大陆手机号，以13–19开头，例如 13812345678。"
NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
FORBIDDEN = {"code": "permission_denied", "message": "您没有执行此操作的权限。", "detail": {}}
INVALID = "提交的数据有误，请检查标记的字段。"


api = api_client


def snapshot():
    """Everything a refused request must leave untouched."""
    return (
        list(Customer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        AuditEvent.objects.exclude(action="customer.viewed").count(),
    )


@pytest.fixture
def archive(org):
    """A Beijing customer with a contact, a Tianjin one and a Shanghai one."""

    class Archive:
        bj = make_customer(
            org.sales_bj,
            name="北京建工集团有限公司",
            credit_code=HUAWEI,
            phone="010-88886666",
            contacts=[{"name": "王经理", "mobile": "13812345678", "title": "采购经理"}],
        )
        tj = make_customer(org.sales_tj, name="天津港贸易有限公司")
        sh = make_customer(
            org.sales_sh,
            name="上海浦东运营中心有限公司",
            contacts=[{"name": "陈总", "mobile": "13900001111"}],
        )

    return Archive


# --- anonymous, malformed and unknown ---------------------------------------------------------
ENDPOINTS = [
    ("get", "/api/customers/"),
    ("post", "/api/customers/"),
    ("get", "/api/customers/{bj}/"),
    ("patch", "/api/customers/{bj}/"),
    ("delete", "/api/customers/{bj}/"),
    ("get", "/api/customers/{bj}/history/"),
    ("get", "/api/contacts/"),
    ("post", "/api/contacts/"),
    ("get", "/api/contacts/{contact}/"),
    ("patch", "/api/contacts/{contact}/"),
    ("delete", "/api/contacts/{contact}/"),
]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_anonymous_gets_structured_401_and_changes_nothing(archive, method, url):
    before = snapshot()
    url = url.format(bj=archive.bj.pk, contact=archive.bj.contacts.get().pk)
    response = getattr(api(), method)(url, {"name": "匿名"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "请先登录。", "detail": {}}
    assert snapshot() == before


def test_bad_token_is_refused(archive):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/customers/")
    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "message": "身份验证失败。",
        "detail": {},
    }


@pytest.mark.parametrize("pk", ["999999", "abc", "1.5", "-1", "0", str(2**70), "%E5%8C%97"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_missing_or_malformed_customer_ids_answer_404(org, archive, pk, method):
    before = snapshot()
    response = getattr(api(org.gm), method)(f"/api/customers/{pk}/", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        ('{"name": "坏JSON', "application/json", 400, "parse_error"),
        ('["不是对象"]', "application/json", 400, "invalid"),
        ("name=表单", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("", "application/json", 400, "invalid"),
        ('{"name": "北京\\u0000公司"}', "application/json", 400, "invalid"),
    ],
)
def test_malformed_bodies_get_structured_errors(org, body, content_type, status, code):
    response = api(org.sales_bj).generic("POST", "/api/customers/", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert Customer.objects.count() == 0


def test_wrong_types_are_field_errors(org):
    response = api(org.sales_bj).post(
        "/api/customers/",
        {
            "name": ["列表"],
            "registered_capital": "很多",
            "owner": "张伟",
            "first_contact_on": "2024-13-45",
            "tags": "不是列表",
            "co_owners": [2**64],
            "contacts": [{"name": "甲", "birthday": "昨天"}, "不是对象"],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == ("invalid", INVALID)
    assert set(body["detail"]) == {
        "name",
        "registered_capital",
        "owner",
        "first_contact_on",
        "tags",
        "co_owners",
        "contacts",
    }
    # nested errors line up with the submitted contacts, item errors of plain lists are flat
    assert body["detail"]["contacts"] == [
        {"birthday": ["日期格式错误。请从这些格式中选择：YYYY-MM-DD。"]},
        {"non_field_errors": ["无效数据。期待为字典类型，得到的是 str 。"]},
    ]
    assert body["detail"]["co_owners"] == ["请确保该值小于或者等于 9223372036854775807。"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("method", ["put", "options"])
def test_unsupported_methods_are_405(org, archive, method):
    response = getattr(api(org.sales_bj), method)(f"/api/customers/{archive.bj.pk}/")
    assert response.status_code == 405
    assert response.json() == {
        "code": "method_not_allowed",
        "message": "不支持该请求方法。",
        "detail": {},
    }


def test_json_only(org, archive):
    """No browsable API: a browser gets JSON, a client insisting on HTML gets 406."""
    client = api(org.sales_bj)
    browser = client.get("/api/customers/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert (browser.status_code, browser["Content-Type"]) == (200, "application/json")
    html_only = client.get(f"/api/customers/{archive.bj.pk}/", HTTP_ACCEPT="text/html")
    assert (html_only.status_code, html_only.json()["code"]) == (406, "not_acceptable")


# --- create ---------------------------------------------------------------------------------------
def test_salesperson_files_customer_with_contacts_and_tags(org):
    region = Region.objects.create(name="华北", code="north")
    industry = Industry.objects.create(name="建筑")
    response = api(org.sales_bj).post(
        "/api/customers/",
        {
            "name": "华为技术有限公司",
            "credit_code": HUAWEI,
            "customer_type": "construction",
            "region": region.pk,
            "industry": industry.pk,
            "registered_capital": "4000000.50",
            "phone": "0755-28780808",
            "tags": ["重点客户", "华南"],
            "co_owners": [org.sales_tj.pk],
            "contacts": [
                {
                    "name": "任经理",
                    "mobile": "+86 138 1234 5678",
                    "title": "总监",
                    "birthday": "1980-05-01",
                },
                {"name": "孙工", "mobile": "", "deal_role": "technical", "is_primary": True},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert (
        body["name"],
        body["credit_code"],
        body["customer_type"],
        body["customer_type_label"],
    ) == (
        "华为技术有限公司",
        HUAWEI,
        "construction",
        "建筑工程公司",
    )
    assert (body["owner"], body["owner_name"], body["department"], body["department_name"]) == (
        org.sales_bj.pk,
        "张伟",
        org.beijing.pk,
        "北京分公司",
    )
    assert (body["region"], body["region_name"], body["industry"], body["industry_name"]) == (
        region.pk,
        "华北",
        industry.pk,
        "建筑",
    )
    assert body["registered_capital"] == "4000000.50"
    assert body["phone"] == "0755-28780808"  # the owner sees numbers in full
    assert body["tags"] == ["华南", "重点客户"]
    assert body["co_owners"] == [org.sales_tj.pk]
    assert body["created_by"] == org.sales_bj.pk
    contacts = {c["name"]: c for c in body["contacts"]}
    assert contacts["任经理"] == {
        "id": Contact.objects.get(name="任经理").pk,
        "name": "任经理",
        "title": "总监",
        "mobile": "13812345678",
        "phone": "",
        "email": "",
        "birthday": "1980-05-01",
        "hobbies": "",
        "notes": "",
        "deal_role": "",
        "is_primary": False,
    }
    assert [c["name"] for c in body["contacts"]] == ["孙工", "任经理"]  # primary first
    # default customers.required_fields: 10 fields, legal representative and address missing
    assert body["completeness"] == {
        "score": 80,
        "missing": [
            {"field": "legal_representative", "label": "法定代表人"},
            {"field": "address", "label": "地址"},
        ],
    }
    assert customer.contacts.count() == 2


def test_completeness_follows_the_policy_in_force(org, archive):
    policy_set(
        actor=org.admin, values={"customers.required_fields": ["name", "postcode"]}, note="精简"
    )
    body = api(org.sales_bj).get(f"/api/customers/{archive.bj.pk}/").json()
    assert body["completeness"] == {
        "score": 50,
        "missing": [{"field": "postcode", "label": "邮编"}],
    }


@pytest.mark.parametrize("name, code", sorted(REAL_CREDIT_CODES.items()))
def test_real_published_credit_codes_are_accepted(org, name, code):
    response = api(org.sales_bj).post(
        "/api/customers/", {"name": name, "credit_code": code}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["credit_code"] == code
    assert Customer.objects.get().credit_code == code


def test_bad_credit_code_is_a_field_error(org):
    bad = HUAWEI[:-1] + ("7" if HUAWEI[-1] != "7" else "8")
    response = api(org.sales_bj).post(
        "/api/customers/", {"name": "假公司", "credit_code": bad}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": INVALID,
        "detail": {"credit_code": ["统一社会信用代码校验位错误（GB 32100-2015），请核对。"]},
    }
    assert Customer.objects.count() == 0


def test_duplicate_credit_code_is_a_conflict(org, archive):
    response = api(org.sales_tj).post(
        "/api/customers/", {"name": "另一家", "credit_code": HUAWEI}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "duplicate_credit_code",
        "message": "该统一社会信用代码已被其他客户档案使用。",
        "detail": {"credit_code": ["该统一社会信用代码已被其他客户档案使用。"]},
    }
    assert Customer.objects.filter(credit_code=HUAWEI).count() == 1


def test_bad_mobile_in_nested_contacts_is_reported_by_position(org):
    response = api(org.sales_bj).post(
        "/api/customers/",
        {
            "name": "联系人有误的公司",
            "contacts": [
                {"name": "甲", "mobile": "13812345678"},
                {"name": "乙", "mobile": "12345"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": INVALID,
        "detail": {"contacts": [{}, {"mobile": [BAD_MOBILE]}]},
    }
    assert (Customer.objects.count(), Contact.objects.count()) == (0, 0)


def test_unknown_related_ids_are_field_errors(org):
    response = api(org.sales_bj).post(
        "/api/customers/",
        {"name": "某公司", "department": 987654, "region": 987654, "owner": 2**62},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "department": ["所选的分支机构不存在。"],
        "region": ["所选的区域不存在。"],
        "owner": ["所选的负责人不存在。"],
    }


def test_customer_service_cannot_create(org):
    response = api(org.service).post("/api/customers/", {"name": "客服建的"}, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert Customer.objects.count() == 0


def test_filing_outside_own_scope_is_refused(org):
    response = api(org.sales_bj).post(
        "/api/customers/", {"name": "给上海建的", "owner": org.sales_sh.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "保存后该客户将超出您的数据范围，请检查负责人和分支机构。",
        "detail": {"owner": ["负责人或分支机构超出您的数据范围。"]},
    }
    assert Customer.objects.count() == 0


# --- retrieve, masking, audit --------------------------------------------------------------------
def test_owner_sees_numbers_in_full_and_the_view_is_audited(org, archive):
    response = api(org.sales_bj).get(f"/api/customers/{archive.bj.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["phone"]) == ("北京建工集团有限公司", "010-88886666")
    assert [(c["name"], c["mobile"], c["title"]) for c in body["contacts"]] == [
        ("王经理", "13812345678", "采购经理")
    ]
    viewed = AuditEvent.objects.get(action="customer.viewed")
    assert (viewed.actor, viewed.customer_id, viewed.source) == (org.sales_bj, archive.bj.pk, "api")


def test_supervisor_sees_masked_numbers_of_a_subordinates_customer(org, archive):
    response = api(org.supervisor_north).get(f"/api/customers/{archive.bj.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == "********6666"
    assert body["contacts"][0]["mobile"] == "138****5678"
    assert (
        AuditEvent.objects.filter(action="customer.viewed", actor=org.supervisor_north).count() == 1
    )


def test_co_owner_sees_numbers_in_full(org, archive):
    services.customer_update(
        actor=org.sales_bj, customer_id=archive.bj.pk, data={}, co_owners=[org.supervisor_north.pk]
    )
    body = api(org.supervisor_north).get(f"/api/customers/{archive.bj.pk}/").json()
    assert body["contacts"][0]["mobile"] == "13812345678"
    assert body["co_owners"] == [org.supervisor_north.pk]


def test_masking_can_be_switched_off_by_policy(org, archive):
    policy_set(actor=org.admin, values={"compliance.mask_phones": False}, note="内部试点")
    body = api(org.gm).get(f"/api/customers/{archive.bj.pk}/").json()
    assert body["contacts"][0]["mobile"] == "13812345678"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_out_of_scope_customer_is_404_and_untouched(org, archive, method):
    before = snapshot()
    for url in (f"/api/customers/{archive.sh.pk}/", f"/api/customers/{archive.sh.pk}/history/"):
        if method != "get" and url.endswith("history/"):
            continue
        response = getattr(api(org.sales_bj), method)(url, {"name": "改名"}, format="json")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before
    assert not AuditEvent.objects.filter(action="customer.viewed").exists()


def test_supervisor_scope_is_department_and_below(org, archive):
    client = api(org.supervisor_north)
    assert client.get(f"/api/customers/{archive.tj.pk}/").status_code == 200
    assert client.get(f"/api/customers/{archive.sh.pk}/").status_code == 404
    names = [c["name"] for c in client.get("/api/customers/?sort=name").json()["results"]]
    assert sorted(names) == sorted(["北京建工集团有限公司", "天津港贸易有限公司"])


# --- list, search, filters ---------------------------------------------------------------------
def test_list_shows_only_the_scope(org, archive):
    body = api(org.sales_bj).get("/api/customers/").json()
    assert body["count"] == 1
    assert [c["id"] for c in body["results"]] == [archive.bj.pk]
    body = api(org.gm).get("/api/customers/?sort=name").json()
    assert body["count"] == 3
    # a general manager sees every customer, with numbers of others' customers masked
    sh = next(c for c in body["results"] if c["id"] == archive.sh.pk)
    assert sh["contacts"][0]["mobile"] == "139****1111"


@pytest.mark.parametrize(
    "user, text, expected",
    [
        ("sales_bj", "建工", ["北京建工集团有限公司"]),
        ("sales_bj", "浦东", []),  # exists, but not in scope
        ("sales_bj", "陈总", []),
        ("sales_bj", "王经理", ["北京建工集团有限公司"]),
        ("sales_bj", "13812345678", ["北京建工集团有限公司"]),
        ("gm", "浦东", ["上海浦东运营中心有限公司"]),
        (
            "gm",
            "有限公司",
            ["上海浦东运营中心有限公司", "北京建工集团有限公司", "天津港贸易有限公司"],
        ),
        ("sup_north", "有限公司", ["北京建工集团有限公司", "天津港贸易有限公司"]),
    ],
)
def test_chinese_substring_search_respects_scope(org, archive, user, text, expected):
    users = {"sales_bj": org.sales_bj, "gm": org.gm, "sup_north": org.supervisor_north}
    response = api(users[user]).get("/api/customers/", {"search": text, "sort": "name"})
    assert response.status_code == 200
    assert sorted(c["name"] for c in response.json()["results"]) == sorted(expected)


def test_filters_and_ordering(org, archive):
    region = Region.objects.create(name="华东", code="east")
    services.customer_update(
        actor=org.gm,
        customer_id=archive.sh.pk,
        data={"customer_type": "trading", "region": region.pk},
        tags=["重点客户"],
    )
    services.customer_update(
        actor=org.gm,
        customer_id=archive.tj.pk,
        data={"customer_type": "trading"},
        tags=["重点客户", "港口"],
    )
    client = api(org.gm)

    def ids(**params):
        response = client.get("/api/customers/", params)
        assert response.status_code == 200, response.json()
        return [c["id"] for c in response.json()["results"]]

    assert ids(customer_type="trading", ordering="name") == sorted(
        [archive.sh.pk, archive.tj.pk], key=lambda pk: Customer.objects.get(pk=pk).name
    )
    assert ids(region=region.pk) == [archive.sh.pk]
    assert ids(owner=org.sales_tj.pk) == [archive.tj.pk]
    assert ids(department=org.beijing.pk) == [archive.bj.pk]
    assert set(ids(tag="重点客户")) == {archive.sh.pk, archive.tj.pk}
    assert ids(tag=["重点客户", "港口"]) == [archive.tj.pk]
    assert ids(tag="没有这个标签") == []
    by_name = sorted([archive.bj, archive.tj, archive.sh], key=lambda c: c.name)
    assert ids(sort="name") == [c.pk for c in by_name]
    assert ids(ordering="-name") == [c.pk for c in reversed(by_name)]
    assert ids(sort="-created") == [archive.bj.pk, archive.tj.pk, archive.sh.pk]
    assert ids(ordering="-created_at") == [archive.sh.pk, archive.tj.pk, archive.bj.pk]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"owner": "张伟"}, "owner"),
        ({"region": "-3"}, "region"),
        ({"department": str(2**70)}, "department"),
        ({"sort": "salary"}, "sort"),
        ({"ordering": "password"}, "ordering"),
        ({"search": "长" * 101}, "search"),
        ({"search": "北京\x00"}, "search"),
    ],
)
def test_malformed_filters_are_field_errors(org, params, field):
    response = api(org.gm).get("/api/customers/", params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], list(body["detail"])) == ("invalid", [field])


@pytest.mark.parametrize("page", ["2", "99999999999999999999999", "abc", "-1", "1e400"])
def test_pages_out_of_range_are_structured_404(org, archive, page):
    response = api(org.gm).get("/api/customers/", {"page": page})
    assert response.status_code == 404
    assert response.json() == {
        "code": "invalid_page",
        "message": "页码无效或超出范围。",
        "detail": {},
    }


def test_page_size_is_capped_and_garbage_ignored(org, archive):
    client = api(org.gm)
    assert len(client.get("/api/customers/", {"page_size": "2"}).json()["results"]) == 2
    assert len(client.get("/api/customers/", {"page_size": "abc"}).json()["results"]) == 3
    assert client.get("/api/customers/", {"page_size": str(10**30)}).status_code == 200


def test_list_has_no_n_plus_one(org, django_assert_max_num_queries):
    for index in range(30):
        make_customer(
            org.sales_bj,
            name=f"批量客户{index:02d}有限公司",
            phone="010-12345678",
            contacts=[
                {"name": f"联系人{index}", "mobile": "13812345678"},
                {"name": "备用", "mobile": ""},
            ],
        )
        services.customer_update(
            actor=org.sales_bj,
            customer_id=Customer.objects.order_by("-pk").first().pk,
            data={},
            tags=["批量", f"标签{index % 3}"],
            co_owners=[org.sales_tj.pk],
        )
    client = api(org.supervisor_north)
    client.get("/api/customers/")  # warm the policy cache like a running server
    with django_assert_max_num_queries(12):
        response = client.get("/api/customers/", {"page_size": 50})
    body = response.json()
    assert body["count"] == 30 and len(body["results"]) == 30
    first = body["results"][0]
    assert (first["phone"], first["contacts"][0]["mobile"], first["co_owners"]) == (
        "********5678",
        "138****5678",
        [org.sales_tj.pk],
    )


# --- update -------------------------------------------------------------------------------------
def test_patch_updates_fields_and_contacts_as_a_full_list_and_records_history(org, archive):
    keep = archive.bj.contacts.get()
    response = api(org.sales_bj).patch(
        f"/api/customers/{archive.bj.pk}/",
        {
            "phone": "010-66668888",
            "legal_representative": "李建国",
            "contacts": [
                {"id": keep.pk, "name": "王经理", "mobile": "13912345678"},
                {"name": "新来的赵工", "mobile": "13700000000"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["phone"], body["legal_representative"]) == ("010-66668888", "李建国")
    assert sorted((c["name"], c["mobile"]) for c in body["contacts"]) == [
        ("新来的赵工", "13700000000"),
        ("王经理", "13912345678"),
    ]
    assert body["contacts"][0]["id"] == keep.pk

    history = api(org.sales_bj).get(f"/api/customers/{archive.bj.pk}/history/").json()
    updated = next(e for e in history["results"] if e["action"] == "customer.updated")
    assert updated["changes"] == {
        "phone": ["010-88886666", "010-66668888"],
        "legal_representative": [None, "李建国"],
    }
    assert (updated["actor"], updated["actor_name"], updated["object_repr"]) == (
        org.sales_bj.pk,
        "张伟",
        "北京建工集团有限公司",
    )
    contact_changes = next(e for e in history["results"] if e["action"] == "contact.updated")
    assert contact_changes["changes"] == {"mobile": ["13812345678", "13912345678"]}
    actions = [e["action"] for e in history["results"]]
    assert "customer.viewed" not in actions
    assert actions.count("contact.created") == 2 and actions[-1] == "customer.created"


def test_patch_with_empty_contacts_removes_them_softly(org, archive):
    contact = archive.bj.contacts.get()
    response = api(org.sales_bj).patch(
        f"/api/customers/{archive.bj.pk}/", {"contacts": []}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["contacts"] == []
    contact.refresh_from_db()
    assert contact.deleted_at is not None


def test_patch_without_contacts_leaves_them(org, archive):
    response = api(org.sales_bj).patch(
        f"/api/customers/{archive.bj.pk}/", {"notes": "年底回访"}, format="json"
    )
    assert [c["name"] for c in response.json()["contacts"]] == ["王经理"]


def test_patch_bad_mobile_reports_position_and_changes_nothing(org, archive):
    before = snapshot()
    keep = archive.bj.contacts.get()
    response = api(org.sales_bj).patch(
        f"/api/customers/{archive.bj.pk}/",
        {
            "name": "改名了",
            "contacts": [{"id": keep.pk, "name": "王经理"}, {"name": "乙", "mobile": "1234"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"contacts": [{}, {"mobile": [BAD_MOBILE]}]}
    assert snapshot() == before


def test_history_masks_numbers_for_others(org, archive):
    services.customer_update(
        actor=org.sales_bj, customer_id=archive.bj.pk, data={"phone": "010-12340000"}
    )
    history = api(org.supervisor_north).get(f"/api/customers/{archive.bj.pk}/history/").json()
    updated = next(e for e in history["results"] if e["action"] == "customer.updated")
    assert updated["changes"] == {"phone": ["********6666", "********0000"]}


def test_customer_service_reads_but_cannot_change(org, archive):
    client = api(org.service)
    assert client.get(f"/api/customers/{archive.sh.pk}/").status_code == 200
    before = snapshot()
    for method in ("patch", "delete"):
        response = getattr(client, method)(
            f"/api/customers/{archive.sh.pk}/", {"name": "客服改的"}, format="json"
        )
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before


# --- delete -------------------------------------------------------------------------------------
def test_soft_delete_then_404(org, archive):
    client = api(org.director)
    response = client.delete(f"/api/customers/{archive.bj.pk}/")
    assert response.status_code == 204
    assert response.content == b""
    archive.bj.refresh_from_db()
    assert (archive.bj.deleted_by, archive.bj.deleted_at is not None) == (org.director, True)
    assert (
        client.get(f"/api/customers/{archive.bj.pk}/").status_code,
        client.get(f"/api/customers/{archive.bj.pk}/").json(),
    ) == (404, NOT_FOUND)
    assert archive.bj.pk not in [c["id"] for c in client.get("/api/customers/").json()["results"]]
    assert client.delete(f"/api/customers/{archive.bj.pk}/").status_code == 404
    # the credit code is free again for a new archive
    assert (
        api(org.sales_tj)
        .post("/api/customers/", {"name": "重新建档", "credit_code": HUAWEI}, format="json")
        .status_code
        == 201
    )


def test_salesperson_cannot_delete_even_own_customer(org, archive):
    before = snapshot()
    response = api(org.sales_bj).delete(f"/api/customers/{archive.bj.pk}/")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before


# --- contacts -------------------------------------------------------------------------------------
def test_contacts_list_is_scoped_and_filterable(org, archive):
    make_customer(
        org.sales_bj, name="第二家", contacts=[{"name": "刘会计", "mobile": "13600000000"}]
    )
    body = api(org.sales_bj).get("/api/contacts/").json()
    assert sorted(c["name"] for c in body["results"]) == ["刘会计", "王经理"]
    body = api(org.sales_bj).get("/api/contacts/", {"customer": archive.bj.pk}).json()
    assert [(c["name"], c["customer"], c["customer_name"]) for c in body["results"]] == [
        ("王经理", archive.bj.pk, "北京建工集团有限公司")
    ]
    assert (
        api(org.sales_bj).get("/api/contacts/", {"customer": archive.sh.pk}).json()["results"] == []
    )
    assert [
        c["name"]
        for c in api(org.sales_bj).get("/api/contacts/", {"search": "刘"}).json()["results"]
    ] == ["刘会计"]
    others = api(org.gm).get("/api/contacts/", {"customer": archive.sh.pk}).json()["results"]
    assert [c["mobile"] for c in others] == ["139****1111"]
    assert api(org.gm).get("/api/contacts/", {"customer": "abc"}).status_code == 400


def test_contact_create_update_delete(org, archive):
    client = api(org.sales_bj)
    response = client.post(
        "/api/contacts/",
        {
            "customer": archive.bj.pk,
            "name": "赵秘书",
            "mobile": "13511112222",
            "birthday": "1990-02-03",
            "deal_role": "gatekeeper",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {
        k: created[k] for k in ("customer", "name", "mobile", "birthday", "deal_role", "is_primary")
    } == {
        "customer": archive.bj.pk,
        "name": "赵秘书",
        "mobile": "13511112222",
        "birthday": "1990-02-03",
        "deal_role": "gatekeeper",
        "is_primary": False,
    }
    url = f"/api/contacts/{created['id']}/"
    response = client.patch(url, {"title": "总经理秘书", "customer": archive.sh.pk}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["customer"]) == ("总经理秘书", archive.bj.pk)
    assert client.get(url).json()["title"] == "总经理秘书"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert Contact.objects.get(pk=created["id"]).deleted_at is not None
    actions = list(
        AuditEvent.objects.filter(object_type="customers.contact", object_id=str(created["id"]))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["contact.created", "contact.updated", "contact.deleted"]


def test_contact_errors(org, archive):
    client = api(org.sales_bj)
    response = client.post(
        "/api/contacts/", {"customer": archive.bj.pk, "name": "乙", "mobile": "12"}, format="json"
    )
    assert (response.status_code, response.json()["detail"]) == (400, {"mobile": [BAD_MOBILE]})
    response = client.post(
        "/api/contacts/", {"customer": archive.sh.pk, "name": "越权"}, format="json"
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = client.post("/api/contacts/", {"name": "没有客户"}, format="json")
    assert (response.status_code, list(response.json()["detail"])) == (400, ["customer"])
    assert Contact.objects.count() == 2


def test_contact_permission_matrix(org, archive):
    theirs = archive.sh.contacts.get()
    before = snapshot()
    for method in ("get", "patch", "delete"):
        response = getattr(api(org.sales_bj), method)(
            f"/api/contacts/{theirs.pk}/", {"name": "x"}, format="json"
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
        response = getattr(api(org.gm), method)(
            f"/api/contacts/{'abc'}/", {"name": "x"}, format="json"
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    for method in ("patch", "delete"):
        response = getattr(api(org.service), method)(
            f"/api/contacts/{theirs.pk}/", {"name": "x"}, format="json"
        )
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    response = api(org.service).post(
        "/api/contacts/", {"customer": archive.sh.pk, "name": "x"}, format="json"
    )
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before
    body = api(org.service).get(f"/api/contacts/{theirs.pk}/").json()
    assert (body["name"], body["mobile"]) == ("陈总", "139****1111")


def test_birthday_roundtrip_and_clearing(org, archive):
    contact = archive.bj.contacts.get()
    client = api(org.sales_bj)
    assert (
        client.patch(
            f"/api/contacts/{contact.pk}/", {"birthday": "1975-10-01"}, format="json"
        ).json()["birthday"]
        == "1975-10-01"
    )
    assert (
        client.patch(f"/api/contacts/{contact.pk}/", {"birthday": None}, format="json").json()[
            "birthday"
        ]
        is None
    )
    contact.refresh_from_db()
    assert contact.birthday is None
