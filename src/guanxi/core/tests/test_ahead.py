"""core.ahead: items made in a forked child process arrive in order, shared records as the
caller's own instances; errors and database access in the child fail loudly in the caller."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator

import pytest
from django.db import connection

from guanxi.core import ahead
from guanxi.core.errors import ValidationFailed
from guanxi.core.testing import make_user
from guanxi.org.models import Department

pytestmark = pytest.mark.skipif(not ahead.available(), reason="needs fork")


def _numbers(count: int) -> Iterator[tuple[int, int]]:
    for number in range(count):
        yield number, os.getpid()


def test_items_arrive_in_order_from_another_process():
    received = list(ahead.prefetch(_numbers(50), depth=2))
    assert [number for number, _pid in received] == list(range(50))
    assert {pid for _number, pid in received} != {os.getpid()}


def test_disabled_runs_here():
    received = list(ahead.prefetch(_numbers(5), enabled=False))
    assert received == [(n, os.getpid()) for n in range(5)]


@pytest.mark.django_db
def test_shared_records_arrive_as_the_callers_instances():
    department = Department.objects.create(name="华北大区", code="north")
    user = make_user(department=department)
    shared = ahead.shared_records([user], [department])
    other = Department.objects.create(name="华南大区", code="south")

    def items() -> Iterator[dict]:
        yield {"user": user, "department": department, "other": other, "name": "王"}

    (item,) = ahead.prefetch(items(), shared=shared)
    assert item["user"] is user and item["department"] is department
    # A record that is not shared travels whole: equal, not the same object.
    assert item["other"] == other and item["other"] is not other
    assert item["name"] == "王"


@pytest.mark.django_db
def test_unsaved_records_travel_whole_with_their_references():
    """New records (the import's customers and contacts) arrive with every attribute, as
    unsaved, their cached related records as the caller's shared ones, and a record that
    refers back to another (a cycle) as one object."""
    from guanxi.customers.models import Contact, Customer

    department = Department.objects.create(name="华北大区", code="north")
    user = make_user(department=department)
    shared = ahead.shared_records([user], [department])

    def items() -> Iterator[tuple]:
        customer = Customer(name="北京星河建材有限公司", owner=user, department=department)
        contact = Contact(name="欧阳娜娜", mobile="13800138000", customer=customer)
        customer._state.fields_cache["probe"] = contact  # a cycle: customer → contact → it
        yield customer, [contact]

    ((customer, (contact,)),) = ahead.prefetch(items(), shared=shared)
    assert customer.pk is None and customer._state.adding
    assert customer.name == "北京星河建材有限公司" and customer.owner_id == user.pk
    assert customer.owner is user and customer.department is department
    assert contact.customer is customer and customer._state.fields_cache["probe"] is contact
    assert contact.mobile == "13800138000" and contact.name == "欧阳娜娜"


def test_an_error_in_the_child_is_raised_here_at_its_item():
    def items() -> Iterator[int]:
        yield 1
        raise ValidationFailed(detail={"name": ["第二行无法解析"]})

    received = []
    with pytest.raises(ValidationFailed) as excinfo:
        for item in ahead.prefetch(items()):
            received.append(item)
    assert received == [1]
    assert excinfo.value.detail == {"name": ["第二行无法解析"]}
    assert isinstance(excinfo.value.__cause__, ahead.AheadFailed)
    assert "Traceback" in str(excinfo.value.__cause__)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not this one")


def test_an_error_that_cannot_travel_arrives_as_ahead_failed():
    def items() -> Iterator[int]:
        raise _Unpicklable("坏了")
        yield 1

    with pytest.raises(ahead.AheadFailed, match="坏了"):
        list(ahead.prefetch(items()))


@pytest.mark.django_db
def test_the_child_may_not_query_the_database():
    def items() -> Iterator[int]:
        yield Department.objects.count()

    with pytest.raises(ahead.AheadQueryRefused, match="must not query"):
        list(ahead.prefetch(items()))
    # The caller's connection is untouched and still works.
    assert Department.objects.count() == 0
    assert connection.is_usable()


def test_closing_early_stops_the_child(monkeypatch):
    """terminate() ends the child, also when the caller ignores SIGTERM itself (a worker's
    graceful stop, say): the child does not keep the caller's handler."""
    started = []
    real = multiprocessing.get_context

    class Recording:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def Process(self, *args, **kwargs):  # noqa: N802 -- the context's own name
            process = self.inner.Process(*args, **kwargs)
            started.append(process)
            return process

    monkeypatch.setattr(multiprocessing, "get_context", lambda name: Recording(real(name)))
    monkeypatch.setattr(ahead, "_STOP_SECONDS", 600)  # kill() would come too late to pass

    def endless() -> Iterator[int]:
        number = 0
        while True:
            yield number
            number += 1

    previous = signal.signal(signal.SIGTERM, lambda *_args: None)
    try:
        stream = ahead.prefetch(endless(), depth=1)
        assert next(stream) == 0
        assert next(stream) == 1
        stream.close()  # the finally: the child is terminated and joined
    finally:
        signal.signal(signal.SIGTERM, previous)
    (process,) = started
    assert process.exitcode == -signal.SIGTERM
    assert not [p for p in multiprocessing.active_children() if p.name == "guanxi-ahead"]


def test_a_reading_connection_of_its_own_is_for_the_child_only(transactional_db):
    """reader(): in the child, a new connection that reads what is committed (where
    reader_possible says a second connection can); in the caller, a programming error."""
    with pytest.raises(RuntimeError):
        ahead.reader()
    Department.objects.create(name="成都分公司")

    def counted() -> Iterator[int]:
        from django.db import connections

        with connections[ahead.reader()].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM org_department WHERE name = %s", ["成都分公司"])
            yield cursor.fetchone()[0]

    if not ahead.reader_possible():  # SQLite in memory: a second connection sees nothing
        pytest.skip("the test database cannot be read by a second connection")
    assert list(ahead.prefetch(counted())) == [1]
