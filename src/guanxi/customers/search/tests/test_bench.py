"""The benchmark harness (`python -m guanxi bench`): the contract of its results file, its
data generator and its arithmetic. Timings themselves are never asserted."""

import json

from django.core.management import call_command

from guanxi.customers import selectors
from guanxi.customers.models import Contact, Customer
from guanxi.customers.search.bench import metrics, runner
from guanxi.customers.search.bench.dataset import build_dataset, remove_customers_after
from guanxi.org.models import User

CONTRACT = {
    "import_rows_per_s",
    "search_p95_ms",
    "list_rps_ratio_to_floor",
    "list_first_page_p95_ms",
    "dedup_scan_1m_s",
    "export_rows_per_s",
}


def test_every_contract_metric_is_registered():
    assert {m.name for m in metrics.METRICS} >= CONTRACT


def test_nearest_rank_percentile():
    values = [float(v) for v in range(1, 101)]
    assert metrics.percentile(values, 0.95) == 95
    assert metrics.percentile(values, 0.5) == 50
    assert metrics.percentile([3.0], 0.95) == 3


def test_results_files_keep_the_contract_and_merge_runs(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    meta = {"when": "2026-11-23 10:00", "customers": 1000, "quick": True, "repeat": 3,
            "machine": "test", "load": "0.1"}  # fmt: skip
    first = {"metric": "search_p95_ms", "value": 12.5, "unit": "ms", "db": "sqlite",
             "target": 50, "scale": 1000, "detail": {"all_scope 1": {"p50_ms": 3, "p95_ms": 12.5}}}  # fmt: skip
    runner.write_results([first, {"error": "postgresql failed"}], meta=meta)
    second = {**first, "db": "postgresql", "value": 70.0, "detail": {}}
    json_path, md_path = runner.write_results([second], meta=meta)
    rows = json.loads(json_path.read_text())
    assert [(r["metric"], r["db"], r["value"]) for r in rows] == [
        ("search_p95_ms", "postgresql", 70.0),
        ("search_p95_ms", "sqlite", 12.5),
    ]
    assert all({"metric", "value", "unit", "db", "target"} <= set(r) for r in rows)
    table = md_path.read_text()
    assert "| search_p95_ms | sqlite | 12.5 | ms | 50 | yes |" in table
    assert "| search_p95_ms | postgresql | 70.0 | ms | 50 | **no** |" in table


def test_the_data_set_is_the_demo_company_and_searchable(db):
    summary = build_dataset(customers=40, seed=7)
    assert summary["customers"] == Customer.objects.count() == 40
    assert summary["contacts"] == Contact.objects.count() > 40
    assert User.objects.filter(username="zhangwei").exists()
    customer = Customer.objects.order_by("pk").first()
    admin = User.objects.get(username="admin")
    assert customer in selectors.customer_list(actor=admin, search=customer.name[-6:])
    # The importer's customers are removed again after an import benchmark.
    top = Customer.objects.order_by("-pk").first().pk
    contacts = Contact.objects.count()
    build_dataset(customers=3, seed=8)
    added = Customer.objects.filter(pk__gt=top).first()
    assert Contact.objects.count() > contacts
    remove_customers_after(top)
    assert Customer.objects.count() == 40
    assert Contact.objects.count() == contacts
    assert not Customer.tags.through.objects.filter(customer_id__gt=top).exists()
    assert added not in selectors.customer_list(actor=admin, search=added.name[-6:])


def test_unknown_metric_is_refused(capsys):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("bench", "--metric", "nonsense")
