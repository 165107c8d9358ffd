"""Two opposite merges at the same time (A into B, B into A): the rows are locked in
primary-key order, so one waits for the other and then finds its customer merged away.
Real concurrency needs PostgreSQL (SQLite serialises writers anyway)."""

import threading

import pytest
from django.db import connection, connections

from guanxi.core.errors import AlreadyMerged, NotFound
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.dedup.services import customer_merge
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Customer


@pytest.mark.django_db(transaction=True)
def test_opposite_merges_at_the_same_time_cannot_both_succeed(org):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    a = add(org.sales_bj, "北京华建建材有限公司")
    b = add(org.sales_bj, "华建建材（北京）有限公司")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(name, survivor, merged, actor):
        try:
            barrier.wait()
            customer_merge(actor=actor, survivor_id=survivor.pk, merged_id=merged.pk)
            outcomes[name] = "merged"
        except (AlreadyMerged, NotFound) as exc:
            outcomes[name] = exc.code
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=("a_into_b", b, a, org.director)),
        threading.Thread(target=run, args=("b_into_a", a, b, org.gm)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["already_merged", "merged"]
    assert MergeRecord.objects.count() == 1
    assert Customer.objects.alive().count() == 1
