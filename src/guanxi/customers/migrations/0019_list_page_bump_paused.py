"""SQLite: a batch's new customers, contacts and tag links replace the list pages' version
token once, not once per row.

The INSERT triggers of migration 0014 replaced the token 'customers:0' for every row: an
import of 100,000 customers (the benchmark's file: a contact each, 1.6 tags) updated that
one row about 365,000 times. They now stand aside while customers_search_paused holds a
row (migration 0015), as the search index's do, and customers.search.bulk.paused()
replaces the token itself, once, in the same transaction: a reader sees the new token
only with the rows that made it. UPDATE and DELETE keep their row triggers.

PostgreSQL: nothing (its triggers already replace a token once per transaction).
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

_TABLES = ("customers_customer", "customers_contact", "customers_customer_tags")
_BUMP = "UPDATE customers_cache_version SET token = random() WHERE name = 'customers:0';"


def _trigger(table: str, when: str) -> list[str]:
    name = f"customers_page_{table}_insert"
    return [
        f"DROP TRIGGER {name}",
        f"CREATE TRIGGER {name} AFTER INSERT ON {table} {when}BEGIN {_BUMP} END",
    ]


FORWARD = [
    statement
    for table in _TABLES
    for statement in _trigger(table, "WHEN NOT EXISTS (SELECT 1 FROM customers_search_paused) ")
]
REVERSE = [statement for table in _TABLES for statement in _trigger(table, "")]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0018_customer_sparse_indexes"),
    ]

    operations = [
        vendor_sql({"sqlite": FORWARD}, {"sqlite": REVERSE}),
    ]
