"""The benchmark functions run end to end at toy scale and report in the shared shape."""

import pytest

from guanxi.ledger import bench
from guanxi.ledger.models import CustomerBalance, Shipment

KEYS = {"metric", "value", "unit", "db", "target", "note"}


@pytest.mark.django_db(transaction=True)
def test_bench_functions_at_toy_scale():
    bench.bench_dataset(customers=20, rows=200)
    assert Shipment.objects.count() == 120
    result = bench.bench_credit_recompute(db_label="test")
    assert set(result) == KEYS
    assert (result["metric"], result["unit"], result["target"]) == (
        "credit_recompute_1m_s",
        "s",
        120,
    )
    assert "drift 0" in result["note"]
    before = CustomerBalance.objects.count()
    result = bench.bench_shipments(
        db_label="test", writers=1, shipments=10, customers=5, processes=False
    )
    assert set(result) == KEYS and result["metric"] == "shipments_per_s"
    assert "10 checked" in result["note"] and "0 errors" in result["note"]
    assert CustomerBalance.objects.count() >= before
