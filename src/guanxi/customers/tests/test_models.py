"""Customer queryset helpers the set-based paths rely on, and the tables' indexes."""

import importlib

from django.apps import apps
from django.db import connection

from guanxi.core.testing import REAL_CREDIT_CODES, make_customer
from guanxi.customers import services
from guanxi.customers.models import Customer


def test_holding_codes_reads_live_holders_through_the_live_code_index(org):
    huawei, xiaomi = (
        REAL_CREDIT_CODES["华为技术有限公司"],
        REAL_CREDIT_CODES["小米科技有限责任公司"],
    )
    live = make_customer(org.sales_bj, name="北京星河建材有限公司", credit_code=huawei)
    gone = make_customer(org.sales_bj, name="天津港湾贸易有限公司", credit_code=xiaomi)
    services.customer_delete(actor=org.director, customer_id=gone.pk)
    make_customer(org.sales_bj, name="上海东方建设有限公司")  # no code
    codes = [huawei, xiaomi, "", *(f"9111{n:014d}" for n in range(2000))]
    found = Customer.objects.holding_codes(codes).order_by()
    assert list(found.values_list("pk", flat=True)) == [live.pk]
    if connection.vendor == "sqlite":
        # Without planner statistics (a new archive) a long IN list of codes must still be
        # answered by the live-code index, not by reading every live customer.
        sql, params = found.values_list("pk", flat=True).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "customer_unique_live_credit_code" in plan, plan


def test_indexed_text_columns_keep_their_plain_index_and_lose_the_pattern_one(db):
    """Migration 0017: the archive's indexed text columns keep their plain index (equality
    and range lookups) and, on PostgreSQL, lose the `…_like` pattern-ops twin that no
    query reads."""
    dropped = importlib.import_module("guanxi.customers.migrations.0017_drop_pattern_indexes")
    with connection.cursor() as cursor:
        for model_name, columns in dropped.PATTERN_INDEXED.items():
            table = apps.get_model("customers", model_name)._meta.db_table
            found = connection.introspection.get_constraints(cursor, table)
            for column in columns:
                plain = [
                    name
                    for name, info in found.items()
                    if info["index"] and info["columns"] == [column] and not info["unique"]
                ]
                assert plain, (table, column)
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                    [table, "%pattern_ops%"],
                )
                assert cursor.fetchall() == [], table


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # the tables are tiny here
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def test_sparse_columns_are_read_through_partial_indexes(org):
    """Migration 0018: deleted_at, deleted_by and merged_into are set on few customers;
    their indexes hold those rows only, and the lookups on them still use the indexes.
    owner and department are read through the list's composite indexes."""
    survivor = make_customer(org.sales_bj, name="北京星河建材有限公司")
    gone = make_customer(org.sales_bj, name="天津港湾贸易有限公司")
    services.customer_delete(actor=org.director, customer_id=gone.pk)
    Customer.objects.filter(pk=gone.pk).update(merged_into=survivor)
    lookups = {
        "customer_deleted_idx": Customer.objects.deleted().order_by("-deleted_at"),
        "customer_deleted_by_idx": Customer.objects.filter(deleted_by=org.director),
        "customer_merged_into_idx": Customer.objects.filter(merged_into=survivor),
        "customer_owner_updated_idx": Customer.objects.filter(owner=org.sales_bj),
        "customer_dept_updated_idx": Customer.objects.filter(department=org.beijing),
    }
    for index, queryset in lookups.items():
        assert index in _plan(queryset.values_list("pk", flat=True)), index
    assert list(lookups["customer_merged_into_idx"].values_list("pk", flat=True)) == [gone.pk]
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                [table, "% WHERE %"],
            )
            partial = {row[0] for row in cursor.fetchall()}
        else:
            cursor.execute(f"PRAGMA index_list({table})")
            partial = {row[1] for row in cursor.fetchall() if row[4]}
    single = {tuple(info["columns"]) for info in found.values() if info["index"]}
    assert ("owner_id",) not in single and ("department_id",) not in single
    sparse = {"customer_deleted_idx", "customer_deleted_by_idx", "customer_merged_into_idx"}
    assert sparse <= partial and set(lookups) <= set(found)
