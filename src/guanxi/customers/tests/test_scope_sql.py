"""customer_scope_sql (the data scope as an SQL condition, compiled once per scope) admits
exactly the customers visible_to admits, for every kind of scope and action."""

import pytest
from django.db import connection

from guanxi.core.testing import make_customer, make_user
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_scope_sql
from guanxi.org.scopes import CHANGE, VIEW


def _ids_by_sql(actor, action):
    condition, params = customer_scope_sql(actor=actor, action=action)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT c.id FROM {Customer._meta.db_table} c WHERE {condition}", params)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("action", [VIEW, CHANGE])
def test_the_sql_scope_is_the_orm_scope_for_every_user(org, action):
    bj = make_customer(org.sales_bj, name="北京一号有限公司")
    make_customer(org.sales_tj, name="天津二号有限公司")
    sh = make_customer(org.sales_sh, name="上海三号有限公司")
    sh.co_owners.add(org.sales_bj)  # co-owned: visible to the co-owner
    make_customer(org.supervisor_north, name="华北四号有限公司")
    legal = make_user("legal", department=org.hq, username="legal_x", name="法务")
    users = [
        org.sales_bj, org.sales_tj, org.sales_sh, org.supervisor_north, org.director,
        org.gm, org.finance, org.service, org.keeper, org.admin, legal,
    ]  # fmt: skip
    seen = set()
    for user in users:
        expected = set(Customer.objects.visible_to(user, action).values_list("pk", flat=True))
        assert _ids_by_sql(user, action) == expected, user.username
        seen.add(frozenset(expected))
    assert {bj.pk, sh.pk} <= set().union(*seen)
    assert len(seen) >= 3  # the users above really have different scopes


def test_an_inactive_user_sees_nothing(org):
    make_customer(org.sales_bj, name="北京一号有限公司")
    org.sales_bj.is_active = False
    assert _ids_by_sql(org.sales_bj, VIEW) == set()
