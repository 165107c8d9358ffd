"""The name grams per owner and co-owner, so that a user's own search reads only their
customers' index entries (ADR 0005, "Own scope").

    customers_search_doc_owner    source -> owner_id of the doc's customer at the time its
                                  viewer grams were written (a deleted customer's doc still
                                  finds its owner; the FTS5 / pg_trgm hits of a 3+ query
                                  are filtered by owner on this narrow table, without
                                  reading the wide customer row).
    customers_search_viewer_gram  (viewer, gram, source, customer_id): the rows of
                                  customers_search_gram once for the customer's owner
                                  (viewer = owner id) and once per co-owner (viewer = minus
                                  the co-owner's id). "Owner U or co-owner U" is the key
                                  range viewer IN (U, -U): a salesperson's one- or
                                  two-character query reads their own hits only, instead of
                                  every hit in the archive and a customer probe for each.

Triggers keep both in the same transaction as every write: a doc row written or deleted
(customers_search_doc, itself kept by the triggers of 0006), a customer's owner changed, a
co-owner added or removed. Either trigger order of a statement that changes a customer's
name and owner at once gives the same rows.
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

# --- SQLite ------------------------------------------------------------------------------------
_SQLITE_GRAMS = "lower(substr({name} || char(31), {i}, 2))"


def _sqlite_grams(name: str, i: str = "i") -> str:
    return _SQLITE_GRAMS.format(name=name, i=i)


SQLITE_FORWARD = [
    """CREATE TABLE customers_search_doc_owner (
           source INTEGER PRIMARY KEY,
           owner_id INTEGER NOT NULL
       )""",
    """CREATE TABLE customers_search_viewer_gram (
           viewer INTEGER NOT NULL,
           gram TEXT NOT NULL,
           source INTEGER NOT NULL,
           customer_id INTEGER NOT NULL,
           PRIMARY KEY (viewer, gram, source)
       ) WITHOUT ROWID""",
    # the rows already there: owners from the customers, in key order (appends only)
    """INSERT INTO customers_search_doc_owner (source, owner_id)
       SELECT d.source, c.owner_id
       FROM customers_search_doc d JOIN customers_customer c ON c.id = d.customer_id
       ORDER BY d.source""",
    """INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
       SELECT o.owner_id, g.gram, g.source, g.customer_id
       FROM customers_search_gram g JOIN customers_search_doc_owner o ON o.source = g.source
       ORDER BY o.owner_id, g.gram, g.source""",
    f"""INSERT OR IGNORE INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
        SELECT -co.user_id, {_sqlite_grams("d.name", "s.i")}, d.source, d.customer_id
        FROM customers_customer_co_owners co
        JOIN customers_search_doc d ON d.customer_id = co.customer_id
        JOIN customers_search_seq s ON s.i <= length(d.name)
        ORDER BY 1, 2, 3""",
    # doc rows -> owner and viewer grams
    f"""CREATE TRIGGER customers_search_viewer_doc_ai AFTER INSERT ON customers_search_doc
       BEGIN
           INSERT OR REPLACE INTO customers_search_doc_owner (source, owner_id)
           SELECT NEW.source, owner_id FROM customers_customer WHERE id = NEW.customer_id;
           INSERT OR IGNORE INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT v.viewer, {_sqlite_grams("NEW.name", "s.i")}, NEW.source, NEW.customer_id
           FROM (SELECT owner_id AS viewer FROM customers_customer WHERE id = NEW.customer_id
                 UNION ALL
                 SELECT -user_id FROM customers_customer_co_owners
                 WHERE customer_id = NEW.customer_id) AS v
           JOIN customers_search_seq s ON s.i <= length(NEW.name);
       END""",
    f"""CREATE TRIGGER customers_search_viewer_doc_ad AFTER DELETE ON customers_search_doc
       BEGIN
           DELETE FROM customers_search_viewer_gram
           WHERE source = OLD.source
             AND viewer IN (
                 SELECT owner_id FROM customers_search_doc_owner WHERE source = OLD.source
                 UNION ALL
                 SELECT -user_id FROM customers_customer_co_owners
                 WHERE customer_id = OLD.customer_id)
             AND gram IN (
                 SELECT {_sqlite_grams("OLD.name")} FROM customers_search_seq
                 WHERE i <= length(OLD.name));
           DELETE FROM customers_search_doc_owner WHERE source = OLD.source;
       END""",
    # a customer changes hands: its docs' owner rows move
    f"""CREATE TRIGGER customers_search_viewer_owner_au
       AFTER UPDATE OF owner_id ON customers_customer
       WHEN OLD.owner_id IS NOT NEW.owner_id
       BEGIN
           DELETE FROM customers_search_viewer_gram
           WHERE viewer = OLD.owner_id AND (gram, source) IN (
               SELECT {_sqlite_grams("d.name", "s.i")}, d.source
               FROM customers_search_doc d
               JOIN customers_search_seq s ON s.i <= length(d.name)
               WHERE d.customer_id = NEW.id);
           INSERT OR IGNORE INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT NEW.owner_id, {_sqlite_grams("d.name", "s.i")}, d.source, d.customer_id
           FROM customers_search_doc d JOIN customers_search_seq s ON s.i <= length(d.name)
           WHERE d.customer_id = NEW.id;
           UPDATE customers_search_doc_owner SET owner_id = NEW.owner_id
           WHERE source IN (SELECT source FROM customers_search_doc WHERE customer_id = NEW.id);
       END""",
    # co-owners
    f"""CREATE TRIGGER customers_search_viewer_co_owner_ai
       AFTER INSERT ON customers_customer_co_owners
       BEGIN
           INSERT OR IGNORE INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT -NEW.user_id, {_sqlite_grams("d.name", "s.i")}, d.source, d.customer_id
           FROM customers_search_doc d JOIN customers_search_seq s ON s.i <= length(d.name)
           WHERE d.customer_id = NEW.customer_id;
       END""",
    f"""CREATE TRIGGER customers_search_viewer_co_owner_ad
       AFTER DELETE ON customers_customer_co_owners
       BEGIN
           DELETE FROM customers_search_viewer_gram
           WHERE viewer = -OLD.user_id AND (gram, source) IN (
               SELECT {_sqlite_grams("d.name", "s.i")}, d.source
               FROM customers_search_doc d
               JOIN customers_search_seq s ON s.i <= length(d.name)
               WHERE d.customer_id = OLD.customer_id);
       END""",
    f"""CREATE TRIGGER customers_search_viewer_co_owner_au
       AFTER UPDATE OF customer_id, user_id ON customers_customer_co_owners
       BEGIN
           DELETE FROM customers_search_viewer_gram
           WHERE viewer = -OLD.user_id AND (gram, source) IN (
               SELECT {_sqlite_grams("d.name", "s.i")}, d.source
               FROM customers_search_doc d
               JOIN customers_search_seq s ON s.i <= length(d.name)
               WHERE d.customer_id = OLD.customer_id);
           INSERT OR IGNORE INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT -NEW.user_id, {_sqlite_grams("d.name", "s.i")}, d.source, d.customer_id
           FROM customers_search_doc d JOIN customers_search_seq s ON s.i <= length(d.name)
           WHERE d.customer_id = NEW.customer_id;
       END""",
    # (planner statistics: the next update_statistics(); the key prefix needs none)
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS customers_search_viewer_co_owner_au",
    "DROP TRIGGER IF EXISTS customers_search_viewer_co_owner_ad",
    "DROP TRIGGER IF EXISTS customers_search_viewer_co_owner_ai",
    "DROP TRIGGER IF EXISTS customers_search_viewer_owner_au",
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_ad",
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_ai",
    "DROP TABLE IF EXISTS customers_search_viewer_gram",
    "DROP TABLE IF EXISTS customers_search_doc_owner",
]

# --- PostgreSQL --------------------------------------------------------------------------------
POSTGRES_FORWARD = [
    # Filled first, keyed after: one sorted index build instead of 20 million insertions.
    """CREATE TABLE customers_search_doc_owner (
           source bigint NOT NULL,
           owner_id bigint NOT NULL
       )""",
    """CREATE TABLE customers_search_viewer_gram (
           viewer bigint NOT NULL,
           gram text COLLATE "C" NOT NULL,
           source bigint NOT NULL,
           customer_id bigint NOT NULL
       )""",
    """INSERT INTO customers_search_doc_owner (source, owner_id)
       SELECT d.source, c.owner_id
       FROM customers_search_doc d JOIN customers_customer c ON c.id = d.customer_id""",
    "ALTER TABLE customers_search_doc_owner ADD PRIMARY KEY (source) INCLUDE (owner_id)",
    """INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
       SELECT o.owner_id, g.gram, g.source, g.customer_id
       FROM customers_search_gram g JOIN customers_search_doc_owner o ON o.source = g.source""",
    """INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
       SELECT DISTINCT -co.user_id, g.g, d.source, d.customer_id
       FROM customers_customer_co_owners co
       JOIN customers_search_doc d ON d.customer_id = co.customer_id
       CROSS JOIN LATERAL customers_search_grams(d.name) AS g(g)""",
    # customer_id in the keys' leaves: the hits of a gram are read from the index alone
    # (the heap, written in trigger order, holds each hit on a different page).
    "ALTER TABLE customers_search_viewer_gram "
    "ADD PRIMARY KEY (viewer, gram, source) INCLUDE (customer_id)",
    "ALTER TABLE customers_search_gram DROP CONSTRAINT customers_search_gram_pkey",
    "ALTER TABLE customers_search_gram ADD PRIMARY KEY (gram, source) INCLUDE (customer_id)",
    """CREATE FUNCTION customers_search_viewer_doc_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'DELETE' THEN
               DELETE FROM customers_search_viewer_gram
               WHERE source = OLD.source
                 AND viewer IN (
                     SELECT owner_id FROM customers_search_doc_owner WHERE source = OLD.source
                     UNION ALL
                     SELECT -user_id FROM customers_customer_co_owners
                     WHERE customer_id = OLD.customer_id)
                 AND gram IN (SELECT customers_search_grams(OLD.name));
               DELETE FROM customers_search_doc_owner WHERE source = OLD.source;
               RETURN NULL;
           END IF;
           INSERT INTO customers_search_doc_owner (source, owner_id)
           SELECT NEW.source, owner_id FROM customers_customer WHERE id = NEW.customer_id
           ON CONFLICT (source) DO UPDATE SET owner_id = EXCLUDED.owner_id;
           INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT v.viewer, g, NEW.source, NEW.customer_id
           FROM (SELECT owner_id AS viewer FROM customers_customer WHERE id = NEW.customer_id
                 UNION ALL
                 SELECT -user_id FROM customers_customer_co_owners
                 WHERE customer_id = NEW.customer_id) AS v
           CROSS JOIN customers_search_grams(NEW.name) AS g
           ON CONFLICT DO NOTHING;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_viewer_doc_changed
       AFTER INSERT OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_changed()""",
    """CREATE FUNCTION customers_search_viewer_owner_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           DELETE FROM customers_search_viewer_gram v
           USING customers_search_doc d
           WHERE d.customer_id = NEW.id AND v.viewer = OLD.owner_id AND v.source = d.source
             AND v.gram IN (SELECT customers_search_grams(d.name));
           INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT NEW.owner_id, g, d.source, d.customer_id
           FROM customers_search_doc d CROSS JOIN LATERAL customers_search_grams(d.name) AS g
           WHERE d.customer_id = NEW.id
           ON CONFLICT DO NOTHING;
           UPDATE customers_search_doc_owner SET owner_id = NEW.owner_id
           WHERE source IN (SELECT source FROM customers_search_doc WHERE customer_id = NEW.id);
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_viewer_owner_changed
       AFTER UPDATE OF owner_id ON customers_customer
       FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id)
       EXECUTE FUNCTION customers_search_viewer_owner_changed()""",
    """CREATE FUNCTION customers_search_viewer_co_owner_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               DELETE FROM customers_search_viewer_gram v
               USING customers_search_doc d
               WHERE d.customer_id = OLD.customer_id AND v.viewer = -OLD.user_id
                 AND v.source = d.source AND v.gram IN (SELECT customers_search_grams(d.name));
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
       $$""",
    """CREATE TRIGGER customers_search_viewer_co_owner_changed
       AFTER INSERT OR UPDATE OF customer_id, user_id OR DELETE
       ON customers_customer_co_owners
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_co_owner_changed()""",
    "ANALYZE customers_search_doc_owner",
    "ANALYZE customers_search_viewer_gram",
    "ANALYZE customers_search_gram",
]

POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS customers_search_viewer_co_owner_changed "
    "ON customers_customer_co_owners",
    "DROP TRIGGER IF EXISTS customers_search_viewer_owner_changed ON customers_customer",
    "DROP TRIGGER IF EXISTS customers_search_viewer_doc_changed ON customers_search_doc",
    "DROP FUNCTION IF EXISTS customers_search_viewer_co_owner_changed()",
    "DROP FUNCTION IF EXISTS customers_search_viewer_owner_changed()",
    "DROP FUNCTION IF EXISTS customers_search_viewer_doc_changed()",
    "DROP TABLE IF EXISTS customers_search_viewer_gram",
    "DROP TABLE IF EXISTS customers_search_doc_owner",
    "ALTER TABLE customers_search_gram DROP CONSTRAINT customers_search_gram_pkey",
    "ALTER TABLE customers_search_gram ADD PRIMARY KEY (gram, source)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_list_cache_versions"),
    ]

    operations = [
        vendor_sql(
            {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
            {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE},
            what="customer search index",
        ),
    ]
