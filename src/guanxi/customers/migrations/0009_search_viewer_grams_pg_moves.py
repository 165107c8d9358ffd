"""PostgreSQL: a transfer or a co-owner change deletes the customer's viewer grams by full
key (viewer, gram, source).

0008 matched them by `viewer` and `source` and filtered the grams per row: the key's middle
column was not bound, so each doc of the customer scanned every index entry of the old
owner (about two million at a million customers; a 500-customer transfer ran for minutes).
SQLite's triggers (row values over the doc grams) were already keyed; they are unchanged.
"""

from django.db import migrations

from guanxi.core.migration_ops import postgresql_sql

OWNER_CHANGED = """CREATE OR REPLACE FUNCTION customers_search_viewer_owner_changed()
   RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
       DELETE FROM customers_search_viewer_gram
       WHERE viewer = OLD.owner_id AND (gram, source) IN (
           SELECT g, d.source
           FROM customers_search_doc d CROSS JOIN LATERAL customers_search_grams(d.name) AS g
           WHERE d.customer_id = NEW.id);
       INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
       SELECT NEW.owner_id, g, d.source, d.customer_id
       FROM customers_search_doc d CROSS JOIN LATERAL customers_search_grams(d.name) AS g
       WHERE d.customer_id = NEW.id
       ON CONFLICT DO NOTHING;
       UPDATE customers_search_doc_owner SET owner_id = NEW.owner_id
       WHERE source IN (SELECT source FROM customers_search_doc WHERE customer_id = NEW.id);
       RETURN NULL;
   END
   $$"""

CO_OWNER_CHANGED = """CREATE OR REPLACE FUNCTION customers_search_viewer_co_owner_changed()
   RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
       IF TG_OP <> 'INSERT' THEN
           DELETE FROM customers_search_viewer_gram
           WHERE viewer = -OLD.user_id AND (gram, source) IN (
               SELECT g, d.source
               FROM customers_search_doc d
               CROSS JOIN LATERAL customers_search_grams(d.name) AS g
               WHERE d.customer_id = OLD.customer_id);
       END IF;
       IF TG_OP <> 'DELETE' THEN
           INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT -NEW.user_id, g, d.source, d.customer_id
           FROM customers_search_doc d
           CROSS JOIN LATERAL customers_search_grams(d.name) AS g
           WHERE d.customer_id = NEW.customer_id
           ON CONFLICT DO NOTHING;
       END IF;
       RETURN NULL;
   END
   $$"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_search_viewer_grams"),
    ]

    operations = [
        # Reversed: nothing to restore (the 0008 bodies gave the same rows, slower).
        postgresql_sql([OWNER_CHANGED, CO_OWNER_CHANGED], []),
    ]
