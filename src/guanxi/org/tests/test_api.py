"""The organisation REST API: tokens (with the login lockout), departments and users.

Only administrators (org.* permissions) may use /api/departments/ and /api/users/.
"""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import PASSWORD, api_client
from guanxi.org.models import Department, User
from guanxi.policy.services import policy_set

FORBIDDEN = {"code": "permission_denied", "message": "您没有执行此操作的权限。", "detail": {}}
NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
BAD_LOGIN = {"code": "invalid_credentials", "message": "用户名或密码错误。", "detail": {}}
NEW_PASSWORD = "Xin-Yuan-Gong-2026"


api = api_client


def login(username, password):
    return APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


def snapshot():
    return (
        list(
            User.objects.order_by("pk").values(
                "pk", "username", "name", "department_id", "password"
            )
        ),
        sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        list(Department.objects.order_by("pk").values()),
    )


# --- tokens ---------------------------------------------------------------------------------------
def test_token_flow(org):
    response = login("sales_bj", PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json() == {"token": Token.objects.get(user=org.sales_bj).key}
    # the same token on the next login
    assert login("sales_bj", PASSWORD).json() == {"token": token}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/customers/").status_code == 200
    org.sales_bj.refresh_from_db()
    assert org.sales_bj.last_login is not None


@pytest.mark.parametrize(
    "username, password",
    [
        ("sales_bj", "wrong-Password-1"),
        ("nobody", PASSWORD),
        ("SALES_BJ", PASSWORD),
        ("sales_bj", ""),
    ],
)
def test_bad_credentials_are_refused_in_chinese(org, username, password):
    response = login(username, password)
    assert response.status_code == 400
    if password:
        assert response.json() == BAD_LOGIN
    else:
        assert response.json()["detail"] == {"password": ["该字段不能为空。"]}
    assert not Token.objects.exists()


def test_inactive_user_cannot_get_a_token(org):
    User.objects.filter(username="sales_bj").update(is_active=False)
    assert login("sales_bj", PASSWORD).json() == BAD_LOGIN


@pytest.mark.parametrize(
    "body, content_type, code",
    [
        ('{"username": ', "application/json", "parse_error"),
        ("[]", "application/json", "invalid"),
        ('{"username": ["a"], "password": {"x": 1}}', "application/json", "invalid"),
        ("{}", "application/json", "invalid"),
    ],
)
def test_malformed_token_requests(org, body, content_type, code):
    response = APIClient().generic("POST", "/api/auth/token/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "detail"}


def test_lockout_through_the_api_after_five_failures(org):
    for _ in range(4):
        assert login("sales_bj", "wrong-Password-1").json() == BAD_LOGIN
    locked = {
        "code": "locked_out",
        "message": "登录失败次数过多，账号已被锁定，请 30 分钟后再试或联系系统管理员。",
        "detail": {"minutes": 30},
    }
    response = login("sales_bj", "wrong-Password-1")
    assert (response.status_code, response.json()) == (403, locked)
    # ...and now even the right password is refused
    response = login("sales_bj", PASSWORD)
    assert (response.status_code, response.json()) == (403, locked)
    assert not Token.objects.filter(user=org.sales_bj).exists()
    # one account's lockout does not touch another
    assert login("sales_tj", PASSWORD).status_code == 200


def test_lockout_threshold_is_policy_through_the_api(org):
    policy_set(actor=org.admin, values={"security.lockout_failures": 2}, note="更严格")
    login("sales_bj", "wrong-Password-1")
    assert login("sales_bj", "wrong-Password-1").json()["code"] == "locked_out"
    assert login("sales_bj", PASSWORD).json()["code"] == "locked_out"


def test_successful_token_login_resets_the_failure_count(org):
    for _ in range(4):
        login("sales_bj", "wrong-Password-1")
    assert login("sales_bj", PASSWORD).status_code == 200
    for _ in range(4):
        login("sales_bj", "wrong-Password-1")
    assert login("sales_bj", PASSWORD).status_code == 200


# --- permission matrix ----------------------------------------------------------------------------
ORG_ENDPOINTS = [
    ("get", "/api/departments/"),
    ("post", "/api/departments/"),
    ("get", "/api/departments/{dept}/"),
    ("patch", "/api/departments/{dept}/"),
    ("put", "/api/departments/{dept}/"),
    ("get", "/api/users/"),
    ("post", "/api/users/"),
    ("get", "/api/users/{user}/"),
    ("patch", "/api/users/{user}/"),
    ("put", "/api/users/{user}/"),
]


@pytest.mark.parametrize("method, url", ORG_ENDPOINTS)
@pytest.mark.parametrize("who", [None, "sales_bj", "supervisor_north", "gm", "service", "keeper"])
def test_only_administrators_use_the_org_api(org, method, url, who):
    before = snapshot()
    url = url.format(dept=org.beijing.pk, user=org.sales_bj.pk)
    body = {
        "name": "黑客部",
        "username": "hacker",
        "password": NEW_PASSWORD,
        "roles": ["administrator"],
    }
    response = getattr(api(getattr(org, who) if who else None), method)(url, body, format="json")
    if who is None:
        assert response.status_code == 401
        assert response.json() == {
            "code": "not_authenticated",
            "message": "请先登录。",
            "detail": {},
        }
    else:
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before


@pytest.mark.parametrize("pk", ["999999", "abc", str(2**70), "1.0"])
@pytest.mark.parametrize("kind", ["departments", "users"])
def test_missing_org_records_are_404(org, kind, pk):
    response = api(org.admin).get(f"/api/{kind}/{pk}/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- departments ----------------------------------------------------------------------------------
def test_admin_lists_and_reads_departments(org):
    body = api(org.admin).get("/api/departments/").json()
    assert body["count"] == 6
    rows = {d["name"]: d for d in body["results"]}
    assert rows["北京分公司"] == {
        "id": org.beijing.pk,
        "name": "北京分公司",
        "parent": org.north.pk,
        "kind": "branch",
        "code": "",
        "is_active": True,
    }
    assert rows["总部"]["parent"] is None
    assert api(org.admin).get(f"/api/departments/{org.tianjin.pk}/").json()["name"] == "天津办事处"


def test_admin_creates_and_moves_a_department(org):
    client = api(org.admin)
    response = client.post(
        "/api/departments/",
        {"name": "深圳分公司", "parent": org.east.pk, "kind": "branch"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert {k: created[k] for k in ("name", "parent", "kind", "code")} == {
        "name": "深圳分公司",
        "parent": org.east.pk,
        "kind": "branch",
        "code": "",
    }
    response = client.patch(
        f"/api/departments/{created['id']}/", {"parent": org.hq.pk, "code": "SZ"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["parent"], response.json()["code"]) == (org.hq.pk, "SZ")
    assert Department.objects.get(pk=created["id"]).parent == org.hq
    assert AuditEvent.objects.filter(action="department.updated").get().changes["code"] == [
        "",
        "SZ",
    ]
    response = client.put(
        f"/api/departments/{created['id']}/", {"name": "深圳分公司（新）"}, format="json"
    )
    assert (response.status_code, response.json()["name"]) == (200, "深圳分公司（新）")


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"name": "北京分公司", "parent": "{north}"}, "name", "同一上级下已有同名部门。"),
        ({"name": "  "}, "name", "该字段不能为空。"),
        ({"name": "新部门", "parent": 987654}, "parent", "无效主键 “987654” － 对象不存在。"),
        ({"name": "新部门", "parent": "北京"}, "parent", "请填写合法的整数值。"),
        ({"name": "新部门", "kind": "planet"}, "kind", "“planet” 不是合法选项。"),
        ({"name": "长" * 101}, "name", "请确保这个字段不能超过 100 个字符。"),
    ],
)
def test_department_errors(org, body, field, message):
    before = snapshot()
    body = {
        k: (v.format(north=org.north.pk) if isinstance(v, str) and "{" in v else v)
        for k, v in body.items()
    }
    response = api(org.admin).post("/api/departments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == {field: [message]}
    assert snapshot() == before


def test_department_cannot_move_under_itself(org):
    response = api(org.admin).patch(
        f"/api/departments/{org.north.pk}/", {"parent": org.beijing.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"parent": ["上级部门不能是自己或自己的下级。"]}
    org.north.refresh_from_db()
    assert org.north.parent == org.hq


def test_renaming_onto_a_sibling_is_refused_with_a_field_error(org):
    response = api(org.admin).patch(
        f"/api/departments/{org.tianjin.pk}/", {"name": "北京分公司"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"name": ["同一上级下已有同名部门。"]}
    org.tianjin.refresh_from_db()
    assert org.tianjin.name == "天津办事处"


# --- users ----------------------------------------------------------------------------------------
def test_admin_creates_a_user_who_can_then_log_in(org):
    response = api(org.admin).post(
        "/api/users/",
        {
            "username": "sales_gz",
            "password": NEW_PASSWORD,
            "name": "黄强",
            "department": org.shanghai.pk,
            "roles": ["salesperson", "customer_service"],
            "mobile": "13800002222",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    user = User.objects.get(username="sales_gz")
    assert response.json() == {
        "id": user.pk,
        "username": "sales_gz",
        "name": "黄强",
        "department": org.shanghai.pk,
        "roles": ["salesperson", "customer_service"],
        "email": "",
        "mobile": "13800002222",
        "title": "",
        "is_active": True,
    }
    assert user.check_password(NEW_PASSWORD)
    token = login("sales_gz", NEW_PASSWORD).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/customers/").status_code == 200
    # a salesperson may not manage users
    assert client.get("/api/users/").status_code == 403
    assert client.post("/api/departments/", {"name": "自建部门"}, format="json").status_code == 403


def test_admin_lists_users_with_role_codes_without_n_plus_one(org, django_assert_max_num_queries):
    client = api(org.admin)
    client.get("/api/users/")
    with django_assert_max_num_queries(9):
        body = client.get("/api/users/").json()
    rows = {u["username"]: u for u in body["results"]}
    assert body["count"] == 10
    assert rows["sup_north"]["roles"] == ["supervisor"]
    assert rows["sup_north"]["department"] == org.north.pk
    assert "password" not in rows["sup_north"]


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        ({"username": "weak", "password": "short1A!"}, "password", "太短"),
        ({"username": "sales_bj", "password": NEW_PASSWORD}, "username", "用户名已存在。"),
        (
            {"username": "x1", "password": NEW_PASSWORD, "roles": ["emperor"]},
            "roles",
            "未知的角色：emperor",
        ),
        (
            {"username": "x2", "password": NEW_PASSWORD, "roles": "salesperson"},
            "roles",
            "期望为一个包含物件的列表",
        ),
        (
            {"username": "x3", "password": NEW_PASSWORD, "department": 987654},
            "department",
            "对象不存在",
        ),
        (
            {"username": "x4", "password": NEW_PASSWORD, "email": "不是邮箱"},
            "email",
            "合法的邮件地址",
        ),
        ({"username": "x5"}, "password", "该字段是必填项。"),
    ],
)
def test_user_errors(org, body, field, fragment):
    before = snapshot()
    response = api(org.admin).post("/api/users/", body, format="json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert list(detail) == [field]
    assert any(fragment in message for message in detail[field]), detail
    assert snapshot() == before


def test_admin_changes_roles_department_and_password(org):
    client = api(org.admin)
    url = f"/api/users/{org.sales_bj.pk}/"
    response = client.patch(
        url,
        {
            "roles": ["supervisor"],
            "department": org.north.pk,
            "password": NEW_PASSWORD,
            "username": "renamed",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["username"], body["roles"], body["department"]) == (
        "sales_bj",
        ["supervisor"],
        org.north.pk,
    )
    assert login("sales_bj", NEW_PASSWORD).status_code == 200
    assert login("sales_bj", PASSWORD).status_code == 400
    event = AuditEvent.objects.filter(action="user.updated").get()
    assert event.changes["roles"] == [["salesperson"], ["supervisor"]]
    assert event.changes["password"] == ["***", "***"]
    # the new role takes effect on the user's next request
    assert api(User.objects.get(pk=org.sales_bj.pk)).get("/api/customers/").status_code == 200


def test_user_update_keeps_the_password_when_none_is_given(org):
    response = api(org.admin).patch(
        f"/api/users/{org.sales_tj.pk}/", {"name": "李娜娜"}, format="json"
    )
    assert response.json()["name"] == "李娜娜"
    assert login("sales_tj", PASSWORD).status_code == 200
