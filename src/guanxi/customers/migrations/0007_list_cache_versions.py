"""Version tokens for what the customer list caches between requests (ADR 0005).

    customers_cache_version  one row per group of cached facts, with a random token that
                             triggers replace whenever a source table changes:
        org        org_user (scope-relevant columns and names), org_user_groups,
                   org_user_user_permissions, auth_group_permissions, org_role,
                   org_role_custom_departments, org_department
                   (a user's permissions, roles, data scope, department, owner choices)
        reference  customers_region, customers_tag (filter choices)

The list reads the tokens once per request and keys its cache entries by them, so a change
made by any process, through any write path (services, admin, raw SQL), makes every entry
built before it unreachable. Tokens are random rather than counters so that a rolled-back
or truncated table can never bring back an old token.
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

ORG_TABLES = {
    # table: the columns whose UPDATE matters (None: any)
    "org_user": [
        "is_active", "is_superuser", "department_id", "name", "first_name", "last_name",
        "username",
    ],
    "org_user_groups": None,
    "org_user_user_permissions": None,
    "auth_group_permissions": None,
    "org_role": None,
    "org_role_custom_departments": None,
    "org_department": None,
}  # fmt: skip
REFERENCE_TABLES = {"customers_region": None, "customers_tag": None}
GROUPS = {"org": ORG_TABLES, "reference": REFERENCE_TABLES}


def _sqlite_forward():
    statements = [
        "CREATE TABLE customers_cache_version (name TEXT PRIMARY KEY, token INTEGER NOT NULL)",
        "INSERT INTO customers_cache_version (name, token) "
        "VALUES ('org', random()), ('reference', random())",
    ]
    for group, tables in GROUPS.items():
        # UPDATE, not INSERT OR REPLACE: the statement that fires a trigger imposes its own
        # conflict clause on the trigger's (Django's m2m add is an INSERT OR IGNORE).
        bump = (
            f"INSERT OR IGNORE INTO customers_cache_version (name, token) "
            f"VALUES ('{group}', random()); "
            f"UPDATE customers_cache_version SET token = random() WHERE name = '{group}';"
        )
        for table, columns in tables.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            for event in ("INSERT", update, "DELETE"):
                tag = event.split()[0].lower()
                statements.append(
                    f"CREATE TRIGGER customers_cache_{table}_{tag} AFTER {event} ON {table} "
                    f"BEGIN {bump} END"
                )
    return statements


def _sqlite_reverse():
    statements = []
    for tables in GROUPS.values():
        for table in tables:
            for tag in ("insert", "update", "delete"):
                statements.append(f"DROP TRIGGER IF EXISTS customers_cache_{table}_{tag}")
    return [*statements, "DROP TABLE IF EXISTS customers_cache_version"]


def _postgres_forward():
    statements = [
        "CREATE TABLE customers_cache_version (name text PRIMARY KEY, token bigint NOT NULL)",
        "INSERT INTO customers_cache_version (name, token) "
        "VALUES ('org', (random() * 1e15)::bigint), ('reference', (random() * 1e15)::bigint)",
    ]
    for group, tables in GROUPS.items():
        statements.append(
            f"""CREATE FUNCTION customers_cache_bump_{group}() RETURNS trigger AS $$
            BEGIN
                INSERT INTO customers_cache_version (name, token)
                VALUES ('{group}', (random() * 1e15)::bigint)
                ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
                RETURN NULL;
            END $$ LANGUAGE plpgsql"""
        )
        for table, columns in tables.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            # Statement-level: one bump per statement, however many rows it touches.
            statements.append(
                f"CREATE TRIGGER customers_cache_{table} AFTER INSERT OR {update} OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION customers_cache_bump_{group}()"
            )
            statements.append(
                f"CREATE TRIGGER customers_cache_{table}_truncate AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION customers_cache_bump_{group}()"
            )
    return statements


def _postgres_reverse():
    statements = []
    for group, tables in GROUPS.items():
        for table in tables:
            statements.append(f"DROP TRIGGER IF EXISTS customers_cache_{table} ON {table}")
            statements.append(f"DROP TRIGGER IF EXISTS customers_cache_{table}_truncate ON {table}")
        statements.append(f"DROP FUNCTION IF EXISTS customers_cache_bump_{group}()")
    return [*statements, "DROP TABLE IF EXISTS customers_cache_version"]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_search_index"),
        ("org", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        vendor_sql(
            {"sqlite": _sqlite_forward(), "postgresql": _postgres_forward()},
            {"sqlite": _sqlite_reverse(), "postgresql": _postgres_reverse()},
            what="list cache versions",
        ),
    ]
