"""The benchmark functions run end to end at toy scale and report in the shared shape; the
per-customer loop and the set-based path agree on every grade."""

import pytest

from guanxi.customers.models import Customer
from guanxi.grading import bench
from guanxi.grading.models import GradingRun

KEYS = {"metric", "value", "unit", "db", "target", "note"}


@pytest.mark.django_db(transaction=True)
def test_bench_functions_at_toy_scale():
    result = bench.bench_grading(db_label="sqlite", customers=30)
    assert set(result) == KEYS
    assert (result["metric"], result["unit"], result["target"]) == ("grading_1m_s", "s", 120)
    run = GradingRun.objects.get()
    assert run.graded == Customer.objects.alive().count() >= 30
    result = bench.bench_grading_speedup(db_label="sqlite", customers=30, quick=True)
    assert set(result) == KEYS and result["metric"] == "grading_speedup_vs_loop"
    graded = run.graded
    assert f"identical results for {graded:,}/{graded:,}" in result["note"]
