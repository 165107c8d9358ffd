"""PostgreSQL: the search docs once per owner and co-owner, with a trigram index keyed by
viewer, so that a salesperson's 3+ query reads only their own hits (ADR 0005, "Own scope").

    customers_search_viewer_doc  (source, viewer, customer_id, body): the rows of
                                 customers_search_doc once for the customer's owner
                                 (viewer = owner id) and once per co-owner (viewer = minus
                                 the co-owner's id), like the viewer grams of 0008. A GIN
                                 index on (viewer, body gin_trgm_ops) (btree_gin) answers
                                 "viewer U and body ILIKE %q%" in one index scan.

A GIN scan yields row pointers only: every hit's row is read to recheck it. The archive's
doc heap holds a common term's 20,000 hits on 13,000 pages; one viewer's hits, copied in
viewer order, on about 1,000. Triggers keep the table in the same transaction as every write
(a doc written or deleted, an owner changed, a co-owner added, removed or changed); the key
(source, viewer) finds a doc's rows for every viewer whatever the trigger order.

The copy and the index build (81 s at a million customers, under load) only read the
archive's tables: writers wait only for the trigger creation at the end. A write committed
during the copy is not in it (as with 0008): run the migration while the archive is not
written, or rewrite the affected docs. The list keeps its scope filter, so a stale row can
hide a customer from a search, never show one outside the user's scope.

SQLite: nothing (FTS5 cannot be keyed by viewer; its own-scope plans are in search.index).
"""

from django.db import migrations

from guanxi.core.migration_ops import postgresql_sql

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    # Filled first, in viewer order (a viewer's rows on few pages), keyed after.
    """CREATE TABLE customers_search_viewer_doc (
           source bigint NOT NULL,
           viewer bigint NOT NULL,
           customer_id bigint NOT NULL,
           body text NOT NULL
       )""",
    """INSERT INTO customers_search_viewer_doc (source, viewer, customer_id, body)
       SELECT v.source, v.viewer, d.customer_id, d.body
       FROM (SELECT source, owner_id AS viewer FROM customers_search_doc_owner
             UNION ALL
             SELECT d.source, -co.user_id
             FROM customers_customer_co_owners co
             JOIN customers_search_doc d ON d.customer_id = co.customer_id) AS v
       JOIN customers_search_doc d ON d.source = v.source
       ORDER BY v.viewer, v.source""",
    "ALTER TABLE customers_search_viewer_doc ADD PRIMARY KEY (source, viewer)",
    """CREATE INDEX customers_search_viewer_doc_trgm ON customers_search_viewer_doc
       USING gin (viewer, body gin_trgm_ops)""",
    """CREATE FUNCTION customers_search_viewer_doc_rows() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               DELETE FROM customers_search_viewer_doc WHERE source = OLD.source;
           END IF;
           IF TG_OP <> 'DELETE' THEN
               INSERT INTO customers_search_viewer_doc (source, viewer, customer_id, body)
               SELECT NEW.source, v.viewer, NEW.customer_id, NEW.body
               FROM (SELECT owner_id AS viewer FROM customers_customer
                     WHERE id = NEW.customer_id
                     UNION ALL
                     SELECT -user_id FROM customers_customer_co_owners
                     WHERE customer_id = NEW.customer_id) AS v
               ON CONFLICT (source, viewer) DO UPDATE
               SET customer_id = EXCLUDED.customer_id, body = EXCLUDED.body;
           END IF;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_viewer_doc_rows
       AFTER INSERT OR UPDATE OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_rows()""",
    """CREATE FUNCTION customers_search_viewer_doc_owner_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           DELETE FROM customers_search_viewer_doc
           WHERE viewer = OLD.owner_id
             AND source IN (SELECT source FROM customers_search_doc WHERE customer_id = NEW.id);
           INSERT INTO customers_search_viewer_doc (source, viewer, customer_id, body)
           SELECT d.source, NEW.owner_id, d.customer_id, d.body
           FROM customers_search_doc d WHERE d.customer_id = NEW.id
           ON CONFLICT (source, viewer) DO NOTHING;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_viewer_doc_owner_changed
       AFTER UPDATE OF owner_id ON customers_customer
       FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id)
       EXECUTE FUNCTION customers_search_viewer_doc_owner_changed()""",
    """CREATE FUNCTION customers_search_viewer_doc_co_owner_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               DELETE FROM customers_search_viewer_doc
               WHERE viewer = -OLD.user_id AND source IN (
                   SELECT source FROM customers_search_doc WHERE customer_id = OLD.customer_id);
           END IF;
           IF TG_OP <> 'DELETE' THEN
               INSERT INTO customers_search_viewer_doc (source, viewer, customer_id, body)
               SELECT d.source, -NEW.user_id, d.customer_id, d.body
               FROM customers_search_doc d WHERE d.customer_id = NEW.customer_id
               ON CONFLICT (source, viewer) DO NOTHING;
           END IF;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_viewer_doc_co_owner_changed
       AFTER INSERT OR UPDATE OF customer_id, user_id OR DELETE
       ON customers_customer_co_owners
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_co_owner_changed()""",
    "ANALYZE customers_search_viewer_doc",
]

POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_co_owner_changed "
    "ON customers_customer_co_owners",
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_owner_changed ON customers_customer",
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_rows ON customers_search_doc",
    "DROP FUNCTION IF EXISTS customers_search_viewer_doc_co_owner_changed()",
    "DROP FUNCTION IF EXISTS customers_search_viewer_doc_owner_changed()",
    "DROP FUNCTION IF EXISTS customers_search_viewer_doc_rows()",
    "DROP TABLE IF EXISTS customers_search_viewer_doc",
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_search_viewer_grams_pg_moves"),
    ]

    operations = [
        postgresql_sql(POSTGRES_FORWARD, POSTGRES_REVERSE),
    ]
