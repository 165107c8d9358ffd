"""The layout's menu (guanxi_tags.nav_menu), cached on the customer list per user, org
version token, staff flag, language and section: it is the menu rendered afresh, and a
change of permissions, roles or staff flag shows at the next request."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse

from guanxi.org.models import Role

pytestmark = pytest.mark.usefixtures("empty_cache")

LIST = reverse("customer_list")


def menu(client, user, url=LIST):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    found = re.search(r'<ul class="navbar-nav me-auto.*?</ul>', html, re.S)
    assert found is not None
    return found.group(0)


def test_the_cached_menu_is_the_menu_rendered_afresh(client, org, monkeypatch):
    fresh = {user.pk: menu(client, user) for user in (org.sales_bj, org.gm, org.admin)}
    assert len(set(fresh.values())) == 3  # three different menus
    for user in (org.gm, org.sales_bj, org.admin):  # now from the cache, in another order
        assert menu(client, user) == fresh[user.pk]
    monkeypatch.setattr(cache, "get", lambda *args, **kwargs: None)
    for user in (org.sales_bj, org.gm, org.admin):
        assert menu(client, user) == fresh[user.pk]


def test_the_active_entry_follows_the_page(client, org):
    assert 'active" href="/customers/"' in menu(client, org.sales_bj)
    assert 'active" href="/customers/recycle-bin/"' not in menu(client, org.sales_bj)
    recycle = menu(client, org.sales_bj, reverse("recycle_bin"))
    assert 'active" href="/customers/"' not in recycle


def test_a_permission_change_shows_at_the_next_request(client, org):
    audit = reverse("audit_search")
    assert audit not in menu(client, org.sales_bj)
    role = Role.objects.get(code="salesperson")
    permission = Permission.objects.get(codename="view_auditevent")
    role.permissions.add(permission)
    assert audit in menu(client, org.sales_bj)
    role.permissions.remove(permission)
    assert audit not in menu(client, org.sales_bj)
    org.sales_bj.user_permissions.add(permission)
    assert audit in menu(client, org.sales_bj)


def test_a_role_or_staff_change_shows_at_the_next_request(client, org):
    admin = reverse("admin:index")
    assert admin not in menu(client, org.sales_bj)
    org.sales_bj.groups.add(Role.objects.get(code="administrator"))
    assert admin in menu(client, org.sales_bj)
    org.sales_bj.groups.remove(Role.objects.get(code="administrator"))
    assert admin not in menu(client, org.sales_bj)
    org.sales_bj.is_staff = True
    org.sales_bj.save(update_fields=["is_staff"])
    assert admin in menu(client, org.sales_bj)


def test_the_menu_follows_the_language(client, org):
    assert "客户分级" in menu(client, org.sales_bj)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = menu(client, org.sales_bj)
    assert "客户分级" not in english
