"""SQLite: a batch's new customers and contacts get their search docs set-based too.

The row triggers of migration 0006 wrote one doc per new customer and live contact. Run
once per row, the trigger cost more than the doc it wrote: 100,000 customers into an
empty scratch database, one transaction, the customers' INSERT took 1.9–2.4 s with it and
1.1–1.3 s without, plus 0.1–0.3 s for the same docs by one INSERT … SELECT. These two
INSERT triggers now stand aside while customers_search_paused holds a row (migration
0015), like the docs' own, and customers.search.bulk.index_docs() writes the batch's
docs with one statement before it indexes them. UPDATE and DELETE keep their triggers.

PostgreSQL: nothing (its INSERT triggers work per statement, migration 0013).
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

_NOT_PAUSED = "NOT EXISTS (SELECT 1 FROM customers_search_paused)"

_CUSTOMER_AI = """CREATE TRIGGER customers_search_customer_ai AFTER INSERT ON customers_customer
       {when}BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           VALUES (2 * NEW.id, NEW.id, NEW.name,
                   NEW.name || char(10) || NEW.credit_code || char(10) || NEW.phone);
       END"""

_CONTACT_AI = """CREATE TRIGGER customers_search_contact_ai AFTER INSERT ON customers_contact
       WHEN NEW.deleted_at IS NULL{and_not_paused} BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           VALUES (2 * NEW.id + 1, NEW.customer_id, NEW.name,
                   NEW.name || char(10) || NEW.mobile || char(10) || NEW.phone);
       END"""

FORWARD = [
    "DROP TRIGGER customers_search_customer_ai",
    _CUSTOMER_AI.format(when=f"WHEN {_NOT_PAUSED} "),
    "DROP TRIGGER customers_search_contact_ai",
    _CONTACT_AI.format(and_not_paused=f" AND {_NOT_PAUSED}"),
]
REVERSE = [
    "DROP TRIGGER customers_search_customer_ai",
    _CUSTOMER_AI.format(when=""),
    "DROP TRIGGER customers_search_contact_ai",
    _CONTACT_AI.format(and_not_paused=""),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0019_list_page_bump_paused"),
    ]

    operations = [
        vendor_sql({"sqlite": FORWARD}, {"sqlite": REVERSE}),
    ]
