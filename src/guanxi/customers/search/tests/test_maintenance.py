"""Upkeep of the search index (customers.search.maintenance) and its nightly sweep."""

import io

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.testing import make_customer
from guanxi.customers import selectors, services
from guanxi.customers.search import index, maintenance


def _names(actor, text):
    index.clear_plan_cache()
    return {c.name for c in selectors.customer_list(actor=actor, search=text)}


def test_compacting_keeps_every_live_hit_and_drops_the_deleted(org):
    kept = make_customer(org.sales_bj, name="北京澜沧江物流有限公司", contacts=[{"name": "钱多多"}])
    gone = make_customer(org.sales_bj, name="上海澜沧江建材有限公司")
    services.customer_delete(actor=org.director, customer_id=gone.pk)
    with CaptureQueriesContext(connection) as queries:
        maintenance.compact_search_index()
    optimized = [q["sql"] for q in queries.captured_queries if "'optimize'" in q["sql"]]
    if connection.vendor == "sqlite":
        assert len(optimized) == len(maintenance.FTS_TABLES)
        with connection.cursor() as cursor:
            for table in maintenance.FTS_TABLES:  # raises if the index disagrees with its rows
                cursor.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
    else:
        assert optimized == []  # PostgreSQL: autovacuum's work
    assert _names(org.sales_bj, "澜沧江") == {kept.name}
    assert _names(org.sales_bj, "澜沧") == {kept.name}
    assert _names(org.sales_bj, "钱多多") == {kept.name}


def test_the_search_upkeep_runs_nightly_on_its_own_not_in_the_hourly_sweep(org):
    make_customer(org.sales_bj, name="北京澜沧江物流有限公司")
    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert "search:" not in out.getvalue()
    out = io.StringIO()
    call_command("sweep", "--only", "search", stdout=out)
    assert "search: 已更新查询统计并整理检索索引" in out.getvalue()
    assert "import-files:" not in out.getvalue()
    assert _names(org.sales_bj, "澜沧江") == {"北京澜沧江物流有限公司"}
