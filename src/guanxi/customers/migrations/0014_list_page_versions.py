"""Version tokens for whole customer-list pages cached between requests (ADR 0006).

A rendered list page shows customers, their first live contact, their tags and whether
the viewer co-owns them. Rows 'customers:N' of customers_cache_version (migration 0007)
change whenever one of those tables does, in any process, through any write path:

    customers_customer, customers_contact, customers_customer_tags,
    customers_customer_co_owners   (INSERT, UPDATE, DELETE; TRUNCATE on PostgreSQL)

The list keys a cached page by all of them (customers.search.page_cache), so a page is
never served after a change to the rows it was built from.

SQLite has one writer at a time: one row, 'customers:0', replaced by row triggers.

PostgreSQL: a transaction's first write to those tables replaces the token of one of
SHARDS rows, one that no other running transaction holds (FOR UPDATE SKIP LOCKED), and
none after that (a transaction-local flag). A single row would be held from a
transaction's first customer write to its commit: a 100,000-row import would make every
other user's customer edit wait for it. A new token becomes visible with the data that
replaced it, at commit; readers read the tokens before the rows, so a page is never
stored under a token older than its data. Later writes of the same transaction replace
nothing: a reader inside a transaction that has written (the flag
guanxi.customers_page_bumped is on) neither reads nor stores cached pages.
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

TABLES = (
    "customers_customer",
    "customers_contact",
    "customers_customer_tags",
    "customers_customer_co_owners",
)
SHARDS = 8


def _sqlite_forward():
    statements = [
        "INSERT OR REPLACE INTO customers_cache_version (name, token) "
        "VALUES ('customers:0', random())"
    ]
    bump = "UPDATE customers_cache_version SET token = random() WHERE name = 'customers:0';"
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER customers_page_{table}_{event.lower()} AFTER {event} ON {table} "
                f"BEGIN {bump} END"
            )
    return statements


def _sqlite_reverse():
    statements = [
        f"DROP TRIGGER IF EXISTS customers_page_{table}_{event}"
        for table in TABLES
        for event in ("insert", "update", "delete")
    ]
    return [*statements, "DELETE FROM customers_cache_version WHERE name LIKE 'customers:%'"]


def _postgres_forward():
    rows = ", ".join(f"('customers:{n}', (random() * 1e15)::bigint)" for n in range(SHARDS))
    statements = [
        f"INSERT INTO customers_cache_version (name, token) VALUES {rows} "
        "ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token",
        f"""CREATE FUNCTION customers_page_bump() RETURNS trigger AS $$
        DECLARE
            shard text;
        BEGIN
            IF current_setting('guanxi.customers_page_bumped', true) = 'on' THEN
                RETURN NULL;
            END IF;
            SELECT name INTO shard FROM customers_cache_version
             WHERE name LIKE 'customers:%' ORDER BY random() LIMIT 1
               FOR UPDATE SKIP LOCKED;
            IF shard IS NULL THEN  -- every shard held by a running transaction: wait
                shard := 'customers:' || floor(random() * {SHARDS})::int;
            END IF;
            UPDATE customers_cache_version SET token = (random() * 1e15)::bigint
             WHERE name = shard;
            PERFORM set_config('guanxi.customers_page_bumped', 'on', true);
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
    ]
    for table in TABLES:
        statements.append(
            f"CREATE TRIGGER customers_page_{table} AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION customers_page_bump()"
        )
        statements.append(
            f"CREATE TRIGGER customers_page_{table}_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION customers_page_bump()"
        )
    return statements


def _postgres_reverse():
    statements = []
    for table in TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS customers_page_{table} ON {table}")
        statements.append(f"DROP TRIGGER IF EXISTS customers_page_{table}_truncate ON {table}")
    return [
        *statements,
        "DROP FUNCTION IF EXISTS customers_page_bump()",
        "DELETE FROM customers_cache_version WHERE name LIKE 'customers:%'",
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_search_inserts_by_statement"),
    ]

    operations = [
        vendor_sql(
            {"sqlite": _sqlite_forward(), "postgresql": _postgres_forward()},
            {"sqlite": _sqlite_reverse(), "postgresql": _postgres_reverse()},
            what="list page versions",
        ),
    ]
