"""The customer search index (ADR 0004), kept by database triggers.

    customers_search_doc   one row per searchable record: source = 2 × customer id, or
                           2 × contact id + 1 (rising with the ids: FTS5 writes fastest in
                           rowid order); name (for 1–2 character queries) and body =
                           name \\n credit code \\n phone (customer) or name \\n mobile \\n phone
                           (live contact). Deleted contacts have no row; deleted customers
                           keep theirs (the list excludes them, and a restore needs no rebuild).
    customers_search_gram  the two-character grams of each name, plus its last character
                           followed by chr(31), so a one-character query is a range scan.
    SQLite                 an FTS5 trigram table over doc.body (3+ characters).
    PostgreSQL             a pg_trgm GIN index on doc.body (3+ characters).

Triggers on customers_customer / customers_contact maintain the doc table, and triggers on
the doc table maintain the grams (and FTS5): every write path — services, bulk_create, raw
SQL, a merge moving contacts — updates the index in the same transaction.

The SQL is frozen here on purpose: later changes to the index come as new migrations.
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

SEPARATOR_SQLITE = "char(10)"
SEPARATOR_PG = "chr(10)"

SQLITE_FORWARD = [
    "CREATE TABLE customers_search_seq (i INTEGER PRIMARY KEY)",
    """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
       INSERT INTO customers_search_seq(i) SELECT i FROM n""",
    """CREATE TABLE customers_search_doc (
           source INTEGER PRIMARY KEY,
           customer_id INTEGER NOT NULL,
           name TEXT NOT NULL,
           body TEXT NOT NULL
       )""",
    "CREATE INDEX customers_search_doc_customer ON customers_search_doc (customer_id)",
    """CREATE TABLE customers_search_gram (
           gram TEXT NOT NULL,
           source INTEGER NOT NULL,
           customer_id INTEGER NOT NULL,
           PRIMARY KEY (gram, source)
       ) WITHOUT ROWID""",
    """CREATE VIRTUAL TABLE customers_search_fts USING fts5(
           body, content='customers_search_doc', content_rowid='source',
           tokenize='trigram', columnsize=0
       )""",
    # doc -> fts + grams
    """CREATE TRIGGER customers_search_doc_ai AFTER INSERT ON customers_search_doc BEGIN
           INSERT INTO customers_search_fts (rowid, body) VALUES (NEW.source, NEW.body);
           INSERT OR IGNORE INTO customers_search_gram (gram, source, customer_id)
           SELECT lower(substr(NEW.name || char(31), i, 2)), NEW.source, NEW.customer_id
           FROM customers_search_seq WHERE i <= length(NEW.name);
       END""",
    """CREATE TRIGGER customers_search_doc_ad AFTER DELETE ON customers_search_doc BEGIN
           INSERT INTO customers_search_fts (customers_search_fts, rowid, body)
           VALUES ('delete', OLD.source, OLD.body);
           DELETE FROM customers_search_gram
           WHERE source = OLD.source AND gram IN (
               SELECT lower(substr(OLD.name || char(31), i, 2))
               FROM customers_search_seq WHERE i <= length(OLD.name));
       END""",
    # customers -> doc
    f"""CREATE TRIGGER customers_search_customer_ai AFTER INSERT ON customers_customer BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           VALUES (2 * NEW.id, NEW.id, NEW.name,
                   NEW.name || {SEPARATOR_SQLITE} || NEW.credit_code || {SEPARATOR_SQLITE} || NEW.phone);
       END""",
    f"""CREATE TRIGGER customers_search_customer_au
       AFTER UPDATE OF name, credit_code, phone ON customers_customer
       WHEN OLD.name IS NOT NEW.name OR OLD.credit_code IS NOT NEW.credit_code
            OR OLD.phone IS NOT NEW.phone
       BEGIN
           DELETE FROM customers_search_doc WHERE source = 2 * OLD.id;
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           VALUES (2 * NEW.id, NEW.id, NEW.name,
                   NEW.name || {SEPARATOR_SQLITE} || NEW.credit_code || {SEPARATOR_SQLITE} || NEW.phone);
       END""",
    """CREATE TRIGGER customers_search_customer_ad AFTER DELETE ON customers_customer BEGIN
           DELETE FROM customers_search_doc WHERE source = 2 * OLD.id;
       END""",
    # contacts -> doc (live contacts only)
    f"""CREATE TRIGGER customers_search_contact_ai AFTER INSERT ON customers_contact
       WHEN NEW.deleted_at IS NULL BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           VALUES (2 * NEW.id + 1, NEW.customer_id, NEW.name,
                   NEW.name || {SEPARATOR_SQLITE} || NEW.mobile || {SEPARATOR_SQLITE} || NEW.phone);
       END""",
    f"""CREATE TRIGGER customers_search_contact_au
       AFTER UPDATE OF name, mobile, phone, deleted_at, customer_id ON customers_contact
       WHEN OLD.name IS NOT NEW.name OR OLD.mobile IS NOT NEW.mobile
            OR OLD.phone IS NOT NEW.phone OR OLD.deleted_at IS NOT NEW.deleted_at
            OR OLD.customer_id IS NOT NEW.customer_id
       BEGIN
           DELETE FROM customers_search_doc WHERE source = 2 * OLD.id + 1;
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           SELECT 2 * NEW.id + 1, NEW.customer_id, NEW.name,
                  NEW.name || {SEPARATOR_SQLITE} || NEW.mobile || {SEPARATOR_SQLITE} || NEW.phone
           WHERE NEW.deleted_at IS NULL;
       END""",
    """CREATE TRIGGER customers_search_contact_ad AFTER DELETE ON customers_contact BEGIN
           DELETE FROM customers_search_doc WHERE source = 2 * OLD.id + 1;
       END""",
    # the records already there
    f"""INSERT INTO customers_search_doc (source, customer_id, name, body)
        SELECT 2 * id, id, name, name || {SEPARATOR_SQLITE} || credit_code || {SEPARATOR_SQLITE} || phone
        FROM customers_customer""",
    f"""INSERT INTO customers_search_doc (source, customer_id, name, body)
        SELECT 2 * id + 1, customer_id, name, name || {SEPARATOR_SQLITE} || mobile || {SEPARATOR_SQLITE} || phone
        FROM customers_contact WHERE deleted_at IS NULL""",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS customers_search_contact_ad",
    "DROP TRIGGER IF EXISTS customers_search_contact_au",
    "DROP TRIGGER IF EXISTS customers_search_contact_ai",
    "DROP TRIGGER IF EXISTS customers_search_customer_ad",
    "DROP TRIGGER IF EXISTS customers_search_customer_au",
    "DROP TRIGGER IF EXISTS customers_search_customer_ai",
    "DROP TRIGGER IF EXISTS customers_search_doc_ad",
    "DROP TRIGGER IF EXISTS customers_search_doc_ai",
    "DROP TABLE IF EXISTS customers_search_fts",
    "DROP TABLE IF EXISTS customers_search_gram",
    "DROP TABLE IF EXISTS customers_search_doc",
    "DROP TABLE IF EXISTS customers_search_seq",
]

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE customers_search_doc (
           source bigint PRIMARY KEY,
           customer_id bigint NOT NULL,
           name text NOT NULL,
           body text NOT NULL
       )""",
    "CREATE INDEX customers_search_doc_customer ON customers_search_doc (customer_id)",
    """CREATE INDEX customers_search_doc_trgm ON customers_search_doc
       USING gin (body gin_trgm_ops)""",
    # Byte order ("C") so that a one-character query is the range [c, c || U+10FFFF).
    """CREATE TABLE customers_search_gram (
           gram text COLLATE "C" NOT NULL,
           source bigint NOT NULL,
           customer_id bigint NOT NULL,
           PRIMARY KEY (gram, source)
       )""",
    """CREATE FUNCTION customers_search_grams(t text) RETURNS SETOF text
       LANGUAGE sql IMMUTABLE AS $$
           SELECT DISTINCT lower(substr(t || chr(31), i, 2)) COLLATE "C"
           FROM generate_series(1, length(t)) AS i
       $$""",
    """CREATE FUNCTION customers_search_doc_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'DELETE' THEN
               DELETE FROM customers_search_gram
               WHERE source = OLD.source
                 AND gram IN (SELECT customers_search_grams(OLD.name));
               RETURN NULL;
           END IF;
           INSERT INTO customers_search_gram (gram, source, customer_id)
           SELECT g, NEW.source, NEW.customer_id FROM customers_search_grams(NEW.name) AS g
           ON CONFLICT DO NOTHING;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_doc_changed
       AFTER INSERT OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_doc_changed()""",
    f"""CREATE FUNCTION customers_search_customer_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               IF TG_OP = 'UPDATE' AND OLD.name IS NOT DISTINCT FROM NEW.name
                  AND OLD.credit_code IS NOT DISTINCT FROM NEW.credit_code
                  AND OLD.phone IS NOT DISTINCT FROM NEW.phone THEN
                   RETURN NULL;
               END IF;
               DELETE FROM customers_search_doc WHERE source = 2 * OLD.id;
           END IF;
           IF TG_OP <> 'DELETE' THEN
               INSERT INTO customers_search_doc (source, customer_id, name, body)
               VALUES (2 * NEW.id, NEW.id, NEW.name,
                       NEW.name || {SEPARATOR_PG} || NEW.credit_code || {SEPARATOR_PG} || NEW.phone);
           END IF;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_customer_changed
       AFTER INSERT OR UPDATE OR DELETE ON customers_customer
       FOR EACH ROW EXECUTE FUNCTION customers_search_customer_changed()""",
    f"""CREATE FUNCTION customers_search_contact_changed() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP <> 'INSERT' THEN
               IF TG_OP = 'UPDATE' AND OLD.name IS NOT DISTINCT FROM NEW.name
                  AND OLD.mobile IS NOT DISTINCT FROM NEW.mobile
                  AND OLD.phone IS NOT DISTINCT FROM NEW.phone
                  AND OLD.deleted_at IS NOT DISTINCT FROM NEW.deleted_at
                  AND OLD.customer_id IS NOT DISTINCT FROM NEW.customer_id THEN
                   RETURN NULL;
               END IF;
               DELETE FROM customers_search_doc WHERE source = 2 * OLD.id + 1;
           END IF;
           IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
               INSERT INTO customers_search_doc (source, customer_id, name, body)
               VALUES (2 * NEW.id + 1, NEW.customer_id, NEW.name,
                       NEW.name || {SEPARATOR_PG} || NEW.mobile || {SEPARATOR_PG} || NEW.phone);
           END IF;
           RETURN NULL;
       END
       $$""",
    """CREATE TRIGGER customers_search_contact_changed
       AFTER INSERT OR UPDATE OR DELETE ON customers_contact
       FOR EACH ROW EXECUTE FUNCTION customers_search_contact_changed()""",
    f"""INSERT INTO customers_search_doc (source, customer_id, name, body)
        SELECT 2 * id, id, name, name || {SEPARATOR_PG} || credit_code || {SEPARATOR_PG} || phone
        FROM customers_customer""",
    f"""INSERT INTO customers_search_doc (source, customer_id, name, body)
        SELECT 2 * id + 1, customer_id, name, name || {SEPARATOR_PG} || mobile || {SEPARATOR_PG} || phone
        FROM customers_contact WHERE deleted_at IS NULL""",
]

POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS customers_search_contact_changed ON customers_contact",
    "DROP TRIGGER IF EXISTS customers_search_customer_changed ON customers_customer",
    "DROP FUNCTION IF EXISTS customers_search_contact_changed()",
    "DROP FUNCTION IF EXISTS customers_search_customer_changed()",
    "DROP TABLE IF EXISTS customers_search_gram",
    "DROP TABLE IF EXISTS customers_search_doc",
    "DROP FUNCTION IF EXISTS customers_search_doc_changed()",
    "DROP FUNCTION IF EXISTS customers_search_grams(text)",
    # pg_trgm stays: other indexes may use it, and dropping an extension is an admin's call.
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_import_jobs_merges"),
    ]

    operations = [
        vendor_sql(
            {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD},
            {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE},
            what="customer search index",
        ),
    ]
