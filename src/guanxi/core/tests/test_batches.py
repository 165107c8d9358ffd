"""core.batches.run_ranges: every range once, results in range order; serial inside a
transaction and on SQLite, several connections at once on PostgreSQL."""

import threading

import pytest
from django.db import connection

from guanxi.core import batches


def _work(seen):
    def work(part):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [part.start])
            value = cursor.fetchone()[0]
        seen.append((threading.get_ident(), part.start))
        return value

    return work


@pytest.mark.django_db
def test_inside_a_transaction_ranges_run_in_this_thread_in_order():
    seen = []
    ranges = [range(i, i + 10) for i in range(0, 50, 10)]
    assert batches.run_ranges(_work(seen), ranges) == [0, 10, 20, 30, 40]
    assert seen == [(threading.get_ident(), start) for start in (0, 10, 20, 30, 40)]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_results_keep_the_order_of_the_ranges(settings):
    settings.GUANXI_BATCH_WORKERS = 2
    seen = []
    ranges = [range(i, i + 10) for i in range(0, 80, 10)]
    assert batches.run_ranges(_work(seen), ranges) == list(range(0, 80, 10))
    assert sorted(start for _thread, start in seen) == list(range(0, 80, 10))
    threads = {thread for thread, _start in seen}
    if connection.vendor == "postgresql":
        assert threading.get_ident() not in threads  # worker threads, own connections
    else:
        assert threads == {threading.get_ident()}  # SQLite: one writer, this connection


@pytest.mark.django_db(transaction=True)
def test_one_worker_means_serial(settings):
    settings.GUANXI_BATCH_WORKERS = 1
    seen = []
    batches.run_ranges(_work(seen), [range(0, 1), range(1, 2), range(2, 3)])
    assert {thread for thread, _start in seen} == {threading.get_ident()}
