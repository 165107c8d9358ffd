"""Two shipments recorded at the same moment can never together exceed the limit.

20 threads, each with its own database connection and real commits (transactional_db),
each record one shipment of ¥15,000 for a customer with a ¥100,000 limit: each alone fits,
all together do not. The balance row lock (select_for_update on PostgreSQL; BEGIN
IMMEDIATE on SQLite) serialises them: exactly 6 are accepted, the other 14 get the limit
error, and the balance equals the accepted sum.

pytest-django's SQLite test database lives in memory in shared-cache mode, where SQLite
locks tables instead of waiting; on SQLite the test therefore copies the committed test
database into a temporary file and points the worker threads at it, so they run exactly
as the application does (file database, WAL, BEGIN IMMEDIATE, busy timeout).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, connections

from guanxi.core.errors import CreditLimitExceeded
from guanxi.core.testing import make_customer
from guanxi.ledger import services
from guanxi.ledger.testing import NOW, approve_limit, d
from guanxi.org.models import User

WRITERS = 20
AMOUNT = Decimal("15000.00")
LIMIT = Decimal("100000.00")


@contextlib.contextmanager
def worker_database(tmp_path):
    """On in-memory SQLite: a file copy of the test database for the worker threads."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    target = tmp_path / "concurrency.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    connection.connection.backup(copy)
    copy.close()
    settings_dict = connections["default"].settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(target)
    try:
        yield
    finally:
        settings_dict["NAME"] = original


def run_in_threads(count, work):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(index):
        try:
            barrier.wait()
            results[index] = ("ok", work(index))
        except Exception as exc:  # noqa: BLE001 - every outcome is inspected below
            results[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def recorder(customer):
    """One writer's work: a shipment of AMOUNT for the customer, with its own connection."""

    def record(index):
        actor = User.objects.get(username="sales_bj")
        return services.shipment_record(
            actor=actor,
            customer_id=customer.pk,
            date=d("2025-06-10"),
            amount=AMOUNT,
            quantity=1,
            note=f"writer {index}",
        )

    return record


def in_thread(work):
    [(kind, value)] = run_in_threads(1, lambda _index: work())
    if kind == "error":
        raise value
    return value


@pytest.mark.django_db(transaction=True)
def test_parallel_shipments_never_exceed_the_limit(org, tmp_path):
    with time_machine.travel(NOW, tick=False):
        customer = make_customer(org.sales_bj, name="并发测试客户有限公司")
        approve_limit(org, customer, LIMIT)
        with worker_database(tmp_path):
            results = run_in_threads(WRITERS, recorder(customer))
            accepted = [value for kind, value in results if kind == "ok"]
            refused = [value for kind, value in results if kind == "error"]
            assert all(isinstance(exc, CreditLimitExceeded) for exc in refused), refused
            assert all(exc.code == "credit_limit_exceeded" for exc in refused)
            assert len(accepted) == 6 and len(refused) == 14
            assert sum(s.amount for s in accepted) <= LIMIT

            def stored():
                from guanxi.ledger.models import CustomerBalance, Shipment

                rows = list(Shipment.objects.filter(customer_id=customer.pk))
                balance = CustomerBalance.objects.get(customer_id=customer.pk).balance
                return sum(s.amount for s in rows), len(rows), balance

            total, count, balance = in_thread(stored)
            assert (total, count, balance) == (AMOUNT * 6, 6, AMOUNT * 6)
            # each refusal names the limit and a shortfall consistent with the serial order
            for exc in refused:
                assert exc.detail["limit"] == "100000.00"
                assert Decimal(exc.detail["shortfall"]) == (
                    Decimal(exc.detail["exposure"]) + AMOUNT - LIMIT
                )


@pytest.mark.django_db(transaction=True)
def test_the_race_is_detected_when_the_limit_condition_is_removed(org, tmp_path, monkeypatch):
    """Mutation check of the test above: with the conditional update's limit condition
    replaced by one that always holds (same parameters), the same 20 writers take the
    customer over its limit — so the test above would fail without the condition."""
    from guanxi.credit import services as credit_services

    monkeypatch.setattr(
        credit_services,
        "_fits_limit_sql",
        lambda *, orders_count: (
            "(CAST(%s AS NUMERIC) IS NOT NULL OR CAST(%s AS NUMERIC)"
            " IS NOT NULL OR COALESCE(({limit}), CAST(%s AS NUMERIC)) IS NOT NULL)"
        ),
    )
    with time_machine.travel(NOW, tick=False):
        customer = make_customer(org.sales_bj, name="并发测试客户有限公司")
        approve_limit(org, customer, LIMIT)
        # the first shipment creates the balance row (locking path, still checked)
        first = services.shipment_record(
            actor=org.sales_bj, customer_id=customer.pk, date=d("2025-06-10"), amount=AMOUNT
        )
        with worker_database(tmp_path):
            results = run_in_threads(WRITERS, recorder(customer))
            accepted = [value for kind, value in results if kind == "ok"]
            assert first.amount + sum(s.amount for s in accepted) > LIMIT
            assert len(accepted) > 5
