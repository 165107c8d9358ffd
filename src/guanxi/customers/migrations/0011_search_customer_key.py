"""PostgreSQL: the list's order, scope and liveness beside each customer id, so that a
search's hits are checked and sorted from an index alone (ADR 0005, "PostgreSQL: the list
from its keys").

    customers_customer_search_key    btree (id) INCLUDE (updated_at, deleted_at, owner_id,
                                     department_id): a selective search's probes, one per
                                     hit (up to MEMBER_SELECTIVE);
    customers_customer_search_order  btree (updated_at, id) INCLUDE (deleted_at, owner_id,
                                     department_id): the list in its default order
                                     (read backwards: updated_at desc, id desc), walked by
                                     the membership plan, each entry tested against the
                                     hashed hits.

A search passes its hits' ids to the list query, which keeps the live ones in the user's
scope and sorts them for a page of 50. Through the primary key that read every hit's
customer row: at a million customers the rows are scattered over the 510 MB heap, one page
each, most of them not in PostgreSQL's shared buffers (a salesperson's one-character query:
~4,000 pages). These indexes hold what the scope filter and the sort read, so the probes and
the walk are index-only (the visibility map, kept by autovacuum, says which heap pages need
no visit); 56 MB each at a million, built in 3 s.

Ordinary indexes: PostgreSQL keeps them exact through every write. Building them reads the
archive and blocks writers to customers_customer for their duration (seconds at a
million).

SQLite: nothing (a probe by rowid reads the row from the table's own B-tree).
"""

from django.db import migrations

from guanxi.core.migration_ops import postgresql_sql

POSTGRES_FORWARD = [
    """CREATE INDEX IF NOT EXISTS customers_customer_search_key ON customers_customer (id)
       INCLUDE (updated_at, deleted_at, owner_id, department_id)""",
    """CREATE INDEX IF NOT EXISTS customers_customer_search_order
       ON customers_customer (updated_at, id) INCLUDE (deleted_at, owner_id, department_id)""",
    "ANALYZE customers_customer",
]

POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS customers_customer_search_order",
    "DROP INDEX IF EXISTS customers_customer_search_key",
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_search_viewer_docs"),
    ]

    operations = [
        postgresql_sql(POSTGRES_FORWARD, POSTGRES_REVERSE),
    ]
