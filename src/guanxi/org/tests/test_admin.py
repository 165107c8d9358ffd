"""The admin for departments, roles and users: open to administrators only, and every write
goes through org.services (or is audited) with source "admin"."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import PASSWORD, make_user
from guanxi.org.models import Department, Role, User


@pytest.fixture
def administrator(org):
    org.admin.is_staff = True
    org.admin.save(update_fields=["is_staff"])
    return org.admin


def _urls(org):
    role = Role.objects.get(code="salesperson")
    return [
        reverse("admin:index"),
        reverse("admin:org_department_changelist"),
        reverse("admin:org_department_add"),
        reverse("admin:org_department_change", args=[org.beijing.pk]),
        reverse("admin:org_role_changelist"),
        reverse("admin:org_role_add"),
        reverse("admin:org_role_change", args=[role.pk]),
        reverse("admin:org_user_changelist"),
        reverse("admin:org_user_add"),
        reverse("admin:org_user_change", args=[org.sales_bj.pk]),
    ]


def test_administrator_opens_every_organisation_page(client, administrator, org):
    client.force_login(administrator)
    for url in _urls(org):
        response = client.get(url)
        assert response.status_code == 200, url
    listing = client.get(reverse("admin:org_user_changelist")).content.decode()
    assert "角色" in listing
    assert "业务员" in listing  # sales_bj's role, shown in the list
    assert "关系 · 客户管理系统 管理后台" in listing


def test_salesperson_is_kept_out(client, org):
    client.force_login(org.sales_bj)  # not staff: sent to the admin login
    for url in _urls(org):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"]
    staff_sales = make_user(
        "salesperson", department=org.beijing, username="staff_sales", is_staff=True
    )
    client.force_login(staff_sales)  # staff without permissions: forbidden
    for url in _urls(org)[1:]:
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("admin:org_department_add"), {"name": "黑客部", "kind": "department"}
    )
    assert response.status_code == 403
    assert not Department.objects.filter(name="黑客部").exists()


def test_roles_replace_bare_groups_in_the_admin():
    assert Role in admin.site._registry
    assert Group not in admin.site._registry


def test_every_registered_admin_list_loads_for_a_superuser(client, org):
    root = make_user(department=org.hq, username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        request = RequestFactory().get("/")
        request.user = root
        if model_admin.has_add_permission(request):
            assert (
                client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code
                == 200
            )


# --- departments --------------------------------------------------------------------------------
def test_department_created_through_the_service_and_audited(client, administrator, org):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:org_department_add"),
        {
            "name": "南京办事处",
            "code": "HD-NJ",
            "kind": "branch",
            "parent": org.east.pk,
            "sort_order": "5",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    department = Department.objects.get(name="南京办事处")
    assert (department.parent, department.kind, department.sort_order) == (org.east, "branch", 5)
    created = AuditEvent.objects.get(action="department.created", object_id=str(department.pk))
    assert created.source == "admin"
    assert created.actor == administrator


def test_department_rules_are_shown_on_the_form(client, administrator, org):
    client.force_login(administrator)
    duplicate = client.post(
        reverse("admin:org_department_add"), {"name": "总部", "kind": "company", "sort_order": "0"}
    )
    assert duplicate.status_code == 200
    assert "同一上级下已有同名部门。" in duplicate.content.decode()

    cycle = client.post(
        reverse("admin:org_department_change", args=[org.north.pk]),
        {
            "name": "华北大区",
            "kind": "region",
            "parent": org.beijing.pk,
            "sort_order": "0",
            "is_active": "on",
        },
    )
    assert cycle.status_code == 200
    assert "上级部门不能是自己或自己的下级。" in cycle.content.decode()
    org.north.refresh_from_db()
    assert org.north.parent == org.hq


def test_department_change_goes_through_the_service(client, administrator, org):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:org_department_change", args=[org.tianjin.pk]),
        {
            "name": "天津分公司",
            "kind": "branch",
            "parent": org.north.pk,
            "sort_order": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="department.updated", object_id=str(org.tianjin.pk))
    assert event.changes == {"name": ["天津办事处", "天津分公司"]}
    assert event.source == "admin"


# --- roles --------------------------------------------------------------------------------------
def test_role_change_is_audited_and_custom_scope_needs_departments(client, administrator):
    role = Role.objects.get(code="legal")
    client.force_login(administrator)
    url = reverse("admin:org_role_change", args=[role.pk])
    form = {
        "name": role.name,
        "description": role.description,
        "sort_order": role.sort_order,
        "data_scope": "custom",
        "read_only": "on",
        "permissions": [p.pk for p in role.permissions.all()],
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "请至少选择一个部门" in refused.content.decode()

    form["data_scope"] = "department"
    assert client.post(url, form).status_code == 302
    role.refresh_from_db()
    assert role.data_scope == "department"
    assert role.code == "legal"
    event = AuditEvent.objects.get(action="role.updated")
    assert event.changes == {"data_scope": ["全部数据", "本部门"]}
    assert event.source == "admin"


# --- users --------------------------------------------------------------------------------------
def test_user_created_through_the_service_with_roles(client, administrator, org):
    client.force_login(administrator)
    supervisor = Role.objects.get(code="supervisor")
    response = client.post(
        reverse("admin:org_user_add"),
        {
            "username": "zhaolei",
            "password1": "Strong-Pass-2026",
            "password2": "Strong-Pass-2026",
            "name": "赵磊",
            "department": org.east.pk,
            "title": "华东区域经理",
            "mobile": "139 1234 5678",
            "email": "zhaolei@example.com",
            "groups": [supervisor.pk],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="zhaolei")
    assert response["Location"] == reverse("admin:org_user_change", args=[user.pk])
    assert user.role_codes() == ["supervisor"]
    assert (user.name, user.department, user.mobile) == ("赵磊", org.east, "13912345678")
    assert user.check_password("Strong-Pass-2026")
    event = AuditEvent.objects.get(action="user.created", object_id=str(user.pk))
    assert event.changes == {"roles": [None, ["supervisor"]]}
    assert event.source == "admin"


def test_weak_password_and_bad_mobile_are_refused(client, administrator, org):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:org_user_add"),
        {
            "username": "weak",
            "password1": "abcdefghij",
            "password2": "abcdefghij",
            "mobile": "12345",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "密码须包含大写字母、小写字母、数字、符号中的至少三类。" in html
    assert "手机号码应为11位中国大陆手机号" in html
    assert not User.objects.filter(username="weak").exists()


def _user_form(user, **changes):
    data = {
        "username": user.username,
        "name": user.name,
        "department": user.department_id or "",
        "title": user.title,
        "mobile": user.mobile,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "groups": [g.pk for g in user.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_user_roles_and_fields_change_through_the_service(client, administrator, org):
    client.force_login(administrator)
    supervisor = Role.objects.get(code="supervisor")
    response = client.post(
        reverse("admin:org_user_change", args=[org.sales_tj.pk]),
        _user_form(org.sales_tj, title="天津主管", groups=[supervisor.pk]),
    )
    assert response.status_code == 302
    user = User.objects.get(pk=org.sales_tj.pk)
    assert user.role_codes() == ["supervisor"]
    assert user.title == "天津主管"
    event = AuditEvent.objects.get(action="user.updated", object_id=str(user.pk))
    assert event.changes == {"title": ["", "天津主管"], "roles": [["salesperson"], ["supervisor"]]}
    assert event.source == "admin"


def test_only_a_superuser_can_grant_superuser(client, administrator, org):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:org_user_change", args=[org.sales_bj.pk]),
        _user_form(org.sales_bj, is_superuser="on", is_staff="on"),
    )
    assert response.status_code == 302
    user = User.objects.get(pk=org.sales_bj.pk)
    assert user.is_staff
    assert not user.is_superuser


def test_password_change_in_the_admin_is_audited(client, administrator, org):
    client.force_login(administrator)
    url = reverse("admin:auth_user_password_change", args=[org.sales_bj.pk])
    response = client.post(
        url,
        {
            "password1": "Another-Pass-2026",
            "password2": "Another-Pass-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(pk=org.sales_bj.pk)
    assert user.check_password("Another-Pass-2026")
    assert not user.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user.password_changed")
    assert event.object_id == str(user.pk)
    assert event.source == "admin"
    assert "Another" not in str(event.changes)
