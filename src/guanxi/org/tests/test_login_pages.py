"""Login, logout, lockout (django-axes, policy security.lockout_*) and password change."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from guanxi.core.testing import PASSWORD
from guanxi.policy.services import policy_set

LOGIN = reverse("login")
NEW_PASSWORD = "Xinmima-2026-Guanxi"


def login(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def is_signed_in(client):
    return client.get(reverse("home")).status_code == 200


def test_login_page_is_chinese(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "vendor/bootstrap/css/bootstrap.min.css" in html and "cdn" not in html.lower()


def test_login_and_redirect_home(client, org):
    response = login(client, "sales_bj")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert is_signed_in(client)
    # already signed in: the login page sends you on
    assert client.get(LOGIN).status_code == 302


def test_login_honours_next(client, org):
    response = login(client, "sales_bj", next=reverse("customer_list"))
    assert response["Location"] == reverse("customer_list")


def test_login_refuses_foreign_next(client, org):
    response = login(client, "sales_bj", next="https://evil.example.com/")
    assert response["Location"] == reverse("home")


def test_wrong_password(client, org):
    response = login(client, "sales_bj", "wrong-password")
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert not is_signed_in(client)


def test_lockout_after_policy_failures_even_with_right_password(client, org):
    for _ in range(4):
        assert login(client, "sales_bj", "wrong-password").status_code == 200
    locked = login(client, "sales_bj", "wrong-password")  # the 5th failure locks
    assert locked.status_code == 403
    assert "账号已被锁定" in locked.content.decode()
    assert "30 分钟" in locked.content.decode()
    response = login(client, "sales_bj")
    assert response.status_code == 403
    assert "账号已被锁定" in response.content.decode()
    assert not is_signed_in(client)
    # the account is locked, not the office's address: a colleague still gets in
    assert login(client, "sales_tj").status_code == 302


def test_lockout_threshold_is_policy(client, org):
    policy_set(
        actor=org.admin,
        values={"security.lockout_failures": 3, "security.lockout_minutes": 60},
        note="收紧",
    )
    login(client, "sales_bj", "wrong-password")
    login(client, "sales_bj", "wrong-password")
    response = login(client, "sales_bj", "wrong-password")
    assert response.status_code == 403
    assert "60 分钟" in response.content.decode()


def test_successful_login_resets_the_failure_count(client, org):
    for _ in range(4):
        login(client, "sales_bj", "wrong-password")
    assert login(client, "sales_bj").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert login(client, "sales_bj", "wrong-password").status_code == 200


def test_logout_is_post_only(client, org):
    client.force_login(org.sales_bj)
    assert client.get(reverse("logout")).status_code == 405
    assert is_signed_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not is_signed_in(client)


class TestPasswordChange:
    url = reverse("password_change")

    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(self.url)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)

    def test_change_password(self, client, org):
        client.force_login(org.sales_bj)
        assert "修改密码" in client.get(self.url).content.decode()
        response = client.post(
            self.url,
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("password_change_done")
        assert "密码已修改" in client.get(response["Location"]).content.decode()
        assert get_user_model().objects.get(username="sales_bj").check_password(NEW_PASSWORD)
        from guanxi.audit.models import AuditEvent

        assert (
            AuditEvent.objects.filter(action="user.password_changed", actor=org.sales_bj).count()
            == 1
        )

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            ("wrong-password", NEW_PASSWORD, "旧密码不正确"),
            (PASSWORD, "abcdefghijkl", "密码须包含大写字母、小写字母、数字、符号中的至少三类"),
            (PASSWORD, "Short-1", "密码太短，至少需要 10 个字符"),
        ],
    )
    def test_refused_password_keeps_the_old_one(self, client, org, old, new, message):
        client.force_login(org.sales_bj)
        response = client.post(
            self.url, {"old_password": old, "new_password1": new, "new_password2": new}
        )
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert any(message in text for messages in errors.values() for text in messages)
        assert message in response.content.decode()
        assert get_user_model().objects.get(username="sales_bj").check_password(PASSWORD)
