"""PostgreSQL: a statement's new customers and contacts indexed together, not one by one.

Before, every new customer and live contact wrote its search doc by a row trigger (0006),
and every new doc had three row triggers of its own: its name grams (0006), its owner and
viewer grams (0008) and its viewer docs (0010), each a PL/pgSQL call with its own small
INSERTs. An import sends thousands of customers and contacts in one COPY.

Now statement-level triggers (AFTER INSERT … REFERENCING NEW TABLE) write the docs of a
statement's new customers or contacts with one INSERT … SELECT, and the docs' trigger
writes the grams, owners, viewer grams and viewer docs of all the statement's new docs
with four INSERT … SELECTs, in the order the row triggers wrote them. The row triggers
keep UPDATE and DELETE, unchanged (an update's new doc is one INSERT: the statement
trigger with one row). The index stays what it was: the tests comparing it with a rebuild
after every kind of write cover both paths. Measured at a million customers, 10,000-row
file, alternating: 551 and 559 rows/s with the row triggers, 771 and 735 with these.

SQLite: nothing (FTS5's own triggers, migration 0006, are unchanged).
"""

from django.db import migrations

from guanxi.core.migration_ops import postgresql_sql

_VIEWERS = """(SELECT owner_id AS viewer FROM customers_customer WHERE id = n.customer_id
                 UNION ALL
                 SELECT -user_id FROM customers_customer_co_owners
                 WHERE customer_id = n.customer_id) AS v"""

FORWARD = [
    f"""CREATE FUNCTION customers_search_docs_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO customers_search_gram (gram, source, customer_id)
           SELECT g, n.source, n.customer_id
           FROM new_docs n CROSS JOIN LATERAL customers_search_grams(n.name) AS g
           ON CONFLICT DO NOTHING;
           INSERT INTO customers_search_doc_owner (source, owner_id)
           SELECT n.source, c.owner_id
           FROM new_docs n JOIN customers_customer c ON c.id = n.customer_id
           ON CONFLICT (source) DO UPDATE SET owner_id = EXCLUDED.owner_id;
           INSERT INTO customers_search_viewer_gram (viewer, gram, source, customer_id)
           SELECT v.viewer, g, n.source, n.customer_id
           FROM new_docs n
           CROSS JOIN LATERAL {_VIEWERS}
           CROSS JOIN LATERAL customers_search_grams(n.name) AS g
           ON CONFLICT DO NOTHING;
           INSERT INTO customers_search_viewer_doc (source, viewer, customer_id, body)
           SELECT n.source, v.viewer, n.customer_id, n.body
           FROM new_docs n
           CROSS JOIN LATERAL {_VIEWERS}
           ON CONFLICT (source, viewer) DO UPDATE
           SET customer_id = EXCLUDED.customer_id, body = EXCLUDED.body;
           RETURN NULL;
       END
       $$""",
    "DROP TRIGGER customers_search_doc_changed ON customers_search_doc",
    """CREATE TRIGGER customers_search_doc_changed
       AFTER DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_doc_changed()""",
    "DROP TRIGGER customers_search_viewer_doc_changed ON customers_search_doc",
    """CREATE TRIGGER customers_search_viewer_doc_changed
       AFTER DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_changed()""",
    "DROP TRIGGER customers_search_viewer_doc_rows ON customers_search_doc",
    """CREATE TRIGGER customers_search_viewer_doc_rows
       AFTER UPDATE OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_rows()""",
    """CREATE TRIGGER customers_search_docs_inserted
       AFTER INSERT ON customers_search_doc REFERENCING NEW TABLE AS new_docs
       FOR EACH STATEMENT EXECUTE FUNCTION customers_search_docs_inserted()""",
    # The docs of new customers and contacts, one INSERT … SELECT per statement (so the
    # trigger above runs once for them all); the row triggers keep UPDATE and DELETE.
    """CREATE FUNCTION customers_search_customers_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           SELECT 2 * n.id, n.id, n.name,
                  n.name || chr(10) || n.credit_code || chr(10) || n.phone
           FROM new_customers n;
           RETURN NULL;
       END
       $$""",
    """CREATE FUNCTION customers_search_contacts_inserted() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO customers_search_doc (source, customer_id, name, body)
           SELECT 2 * n.id + 1, n.customer_id, n.name,
                  n.name || chr(10) || n.mobile || chr(10) || n.phone
           FROM new_contacts n WHERE n.deleted_at IS NULL;
           RETURN NULL;
       END
       $$""",
    "DROP TRIGGER customers_search_customer_changed ON customers_customer",
    """CREATE TRIGGER customers_search_customer_changed
       AFTER UPDATE OR DELETE ON customers_customer
       FOR EACH ROW EXECUTE FUNCTION customers_search_customer_changed()""",
    """CREATE TRIGGER customers_search_customers_inserted
       AFTER INSERT ON customers_customer REFERENCING NEW TABLE AS new_customers
       FOR EACH STATEMENT EXECUTE FUNCTION customers_search_customers_inserted()""",
    "DROP TRIGGER customers_search_contact_changed ON customers_contact",
    """CREATE TRIGGER customers_search_contact_changed
       AFTER UPDATE OR DELETE ON customers_contact
       FOR EACH ROW EXECUTE FUNCTION customers_search_contact_changed()""",
    """CREATE TRIGGER customers_search_contacts_inserted
       AFTER INSERT ON customers_contact REFERENCING NEW TABLE AS new_contacts
       FOR EACH STATEMENT EXECUTE FUNCTION customers_search_contacts_inserted()""",
]

REVERSE = [
    "DROP TRIGGER customers_search_contacts_inserted ON customers_contact",
    "DROP FUNCTION customers_search_contacts_inserted()",
    "DROP TRIGGER customers_search_contact_changed ON customers_contact",
    """CREATE TRIGGER customers_search_contact_changed
       AFTER INSERT OR UPDATE OR DELETE ON customers_contact
       FOR EACH ROW EXECUTE FUNCTION customers_search_contact_changed()""",
    "DROP TRIGGER customers_search_customers_inserted ON customers_customer",
    "DROP FUNCTION customers_search_customers_inserted()",
    "DROP TRIGGER customers_search_customer_changed ON customers_customer",
    """CREATE TRIGGER customers_search_customer_changed
       AFTER INSERT OR UPDATE OR DELETE ON customers_customer
       FOR EACH ROW EXECUTE FUNCTION customers_search_customer_changed()""",
    "DROP TRIGGER customers_search_docs_inserted ON customers_search_doc",
    "DROP FUNCTION customers_search_docs_inserted()",
    "DROP TRIGGER customers_search_doc_changed ON customers_search_doc",
    """CREATE TRIGGER customers_search_doc_changed
       AFTER INSERT OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_doc_changed()""",
    "DROP TRIGGER customers_search_viewer_doc_changed ON customers_search_doc",
    """CREATE TRIGGER customers_search_viewer_doc_changed
       AFTER INSERT OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_changed()""",
    "DROP TRIGGER customers_search_viewer_doc_rows ON customers_search_doc",
    """CREATE TRIGGER customers_search_viewer_doc_rows
       AFTER INSERT OR UPDATE OR DELETE ON customers_search_doc
       FOR EACH ROW EXECUTE FUNCTION customers_search_viewer_doc_rows()""",
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_dedup_block_key"),
    ]

    operations = [
        postgresql_sql(FORWARD, REVERSE),
    ]
