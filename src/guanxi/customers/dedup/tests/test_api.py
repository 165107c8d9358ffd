"""The duplicate and merge API: possible_duplicate on create, merge, merge records and
reversal, with the permission matrix (anonymous 401, no permission 403, out of scope 404)."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client, make_user
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Contact, Customer

MESSAGE = "已有名称相同或相近的客户档案，可能是重复建档。请核对；确认不是同一客户后仍可创建。"
NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
FORBIDDEN = {"code": "permission_denied", "message": "您没有执行此操作的权限。", "detail": {}}


def state():
    return (
        list(Customer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values("pk", "customer_id")),
        MergeRecord.objects.count(),
        AuditEvent.objects.exclude(action="customer.viewed").count(),
    )


# --- create: possible_duplicate ----------------------------------------------------------------
def test_create_answers_409_with_the_candidates(org):
    shanghai = add(org.sales_sh, "上海华建建材有限公司", phone="021-55556666")
    similar = add(org.sales_bj, "华建建材厂")
    response = api_client(org.sales_bj).post(
        "/api/customers/", {"name": "华建建材（北京）有限公司"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "possible_duplicate",
        "message": MESSAGE,
        "detail": {
            "candidates": [
                # outside the salesperson's scope: id, name and score, nothing else
                {"id": shanghai.pk, "name": "上海华建建材有限公司", "score": 100},
                {"id": similar.pk, "name": "华建建材厂", "score": 94},
            ]
        },
    }
    assert Customer.objects.count() == 2


def test_create_with_confirm_duplicate_files_it(org):
    add(org.sales_sh, "上海华建建材有限公司")
    response = api_client(org.sales_bj).post(
        "/api/customers/",
        {"name": "华建建材（北京）有限公司", "confirm_duplicate": True},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "华建建材（北京）有限公司"
    assert "confirm_duplicate" not in body
    assert Customer.objects.filter(name_normalised="华建建材").count() == 2


def test_confirm_duplicate_must_be_a_boolean(org):
    response = api_client(org.sales_bj).post(
        "/api/customers/", {"name": "某公司", "confirm_duplicate": "也许"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["detail"]) == {"confirm_duplicate"}


# --- merge -----------------------------------------------------------------------------------
def url(customer):
    return f"/api/customers/{customer.pk}/merge/"


def test_merge_answers_the_survivor_as_retrieve_renders_it(org, pair):
    client = api_client(org.director)
    response = client.post(url(pair.survivor), {"from": pair.merged.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body == client.get(f"/api/customers/{pair.survivor.pk}/").json()
    assert body["id"] == pair.survivor.pk
    assert body["credit_code"] == "914403001922038216"
    assert {c["name"] for c in body["contacts"]} == {"王经理", "李总"}
    assert sorted(body["tags"]) == ["华北", "重点客户"]
    assert body["co_owners"] == [org.sales_tj.pk]
    assert Customer.objects.get(pk=pair.merged.pk).merged_into_id == pair.survivor.pk


def test_merge_with_field_choices(org, pair):
    response = api_client(org.director).post(
        url(pair.survivor),
        {"from": pair.merged.pk, "fields": {"phone": "merged", "credit_code": "survivor"}},
        format="json",
    )
    assert response.status_code == 200
    survivor = Customer.objects.get(pk=pair.survivor.pk)
    assert (survivor.phone, survivor.credit_code) == ("010-12345678", "")
    assert response.json()["phone"] == "********5678"  # masked: not the director's own


def test_merge_history_lists_the_merged_customers_history(org, pair):
    client = api_client(org.director)
    client.post(url(pair.survivor), {"from": pair.merged.pk}, format="json")
    history = client.get(f"/api/customers/{pair.survivor.pk}/history/").json()["results"]
    actions = [event["action"] for event in history]
    assert actions[:2] == ["customer.merged_away", "customer.merged"]
    assert "contact.created" in actions and "attachment.added" in actions


@pytest.mark.parametrize(
    "body, detail",
    [
        ({}, {"from": ["该字段是必填项。"]}),
        ({"from": "abc"}, {"from": ["请填写合法的整数值。"]}),
        (
            {"from": 1, "fields": {"phone": "both"}},
            {"fields": {"phone": ["“both” 不是合法选项。"]}},
        ),
    ],
)
def test_malformed_merge_requests_are_400(org, pair, body, detail):
    before = state()
    response = api_client(org.director).post(url(pair.survivor), body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert state() == before


def test_unknown_fields_and_self_merge_are_400(org, pair):
    client = api_client(org.director)
    response = client.post(
        url(pair.survivor),
        {"from": pair.merged.pk, "fields": {"deleted_at": "merged"}},
        format="json",
    )
    assert (response.status_code, response.json()["detail"]) == (
        400,
        {"fields": {"deleted_at": ["该字段不能在合并时选择。"]}},
    )
    response = client.post(url(pair.survivor), {"from": pair.survivor.pk}, format="json")
    assert (response.status_code, response.json()["detail"]) == (
        400,
        {"from": ["不能把客户合并到它自己。"]},
    )


def test_merge_permission_matrix(org, pair):
    shanghai = add(org.sales_sh, "上海华建建材有限公司")
    director_east = make_user("sales_director", department=org.east, username="director_east")
    nobody = make_user(department=org.beijing, username="nobody")
    before = state()
    body = {"from": pair.merged.pk}
    assert api_client().post(url(pair.survivor), body, format="json").status_code == 401
    cases = [
        (nobody, pair.survivor, body, 404, NOT_FOUND),  # sees nothing
        (org.sales_sh, pair.survivor, body, 404, NOT_FOUND),  # out of scope
        (org.sales_bj, shanghai, body, 404, NOT_FOUND),  # out of scope
        (org.sales_bj, pair.survivor, {"from": shanghai.pk}, 403, FORBIDDEN),
        (org.sales_bj, pair.survivor, body, 403, FORBIDDEN),  # in scope, cannot delete
        (org.service, pair.survivor, body, 403, FORBIDDEN),  # read-only role
        (org.finance, pair.survivor, body, 403, FORBIDDEN),
        (director_east, shanghai, body, 404, NOT_FOUND),  # `from` out of scope
        (director_east, pair.survivor, {"from": shanghai.pk}, 404, NOT_FOUND),
        (org.director, pair.survivor, {"from": 999999}, 404, NOT_FOUND),
    ]
    for user, survivor, data, status, answer in cases:
        response = api_client(user).post(url(survivor), data, format="json")
        assert (response.status_code, response.json()) == (status, answer), user
    assert state() == before


def test_a_merged_away_customer_cannot_be_merged_again(org, pair):
    client = api_client(org.director)
    assert (
        client.post(url(pair.survivor), {"from": pair.merged.pk}, format="json").status_code == 200
    )
    before = state()
    again = client.post(url(pair.merged), {"from": pair.survivor.pk}, format="json")
    assert (again.status_code, again.json()) == (404, NOT_FOUND)
    again = client.post(url(pair.survivor), {"from": pair.merged.pk}, format="json")
    assert (again.status_code, again.json()) == (404, NOT_FOUND)
    assert state() == before


# --- merge records and reversal -------------------------------------------------------------------
def merged(org, pair):
    api_client(org.director).post(url(pair.survivor), {"from": pair.merged.pk}, format="json")
    return MergeRecord.objects.get()


def test_merge_records_are_listed_within_scope(org, pair):
    record = merged(org, pair)
    body = api_client(org.sales_bj).get("/api/customer-merges/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert (item["id"], item["survivor"], item["merged"], item["actor"]) == (
        record.pk,
        pair.survivor.pk,
        pair.merged.pk,
        org.director.pk,
    )
    assert item["merged_name"] == "华建建材（北京）有限公司"
    assert item["reversed_at"] is None and item["reversible_until"]
    assert api_client(org.sales_sh).get("/api/customer-merges/").json()["count"] == 0
    assert api_client().get("/api/customer-merges/").status_code == 401


def test_an_administrator_reverses_a_merge(org, pair):
    record = merged(org, pair)
    response = api_client(org.admin).post(f"/api/customer-merges/{record.pk}/reverse/")
    assert response.status_code == 200
    assert response.json()["id"] == pair.merged.pk
    assert {c["name"] for c in response.json()["contacts"]} == {"王经理", "李总"}
    assert Customer.objects.get(pk=pair.merged.pk).deleted_at is None
    again = api_client(org.keeper).post(f"/api/customer-merges/{record.pk}/reverse/")
    assert (again.status_code, again.json()["code"]) == (409, "conflict")


def test_reversal_permission_matrix(org, pair):
    record = merged(org, pair)
    before = state()
    reverse = f"/api/customer-merges/{record.pk}/reverse/"
    assert api_client().post(reverse).status_code == 401
    for user, status in [
        (org.sales_sh, 404),  # survivor out of scope
        (org.sales_bj, 403),  # no restore permission
        (org.director, 403),  # restore permission, but not an administrator
        (org.gm, 403),
    ]:
        response = api_client(user).post(reverse)
        assert response.status_code == status, user
    response = api_client(org.admin).post("/api/customer-merges/999999/reverse/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert state() == before
