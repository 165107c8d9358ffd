"""PostgreSQL: no second, pattern-ops index on the archive's indexed text columns.

For a CharField with db_index, Django's PostgreSQL backend creates two indexes: the plain
one and a `…_like` one (varchar_pattern_ops) for LIKE 'prefix%' under a non-C collation.
Nothing here asks the customers' name, name key, type, status or grade, or the contacts'
mobile, for a prefix: lookups are by equality or by range (the duplicate check's name
blocks, customers.dedup.matching), which the plain index answers; substrings go through
the search index (customers.search). So each new customer and contact wrote index entries
nobody reads, at random places in large trees.

Measured at a million customers, 6,000 imported rows after a checkpoint: these six
indexes were a tenth of the import's WAL (about 90 of 910 MB, nearly all full-page
images); at 20,000 rows, alternating, 440 and 410 rows/s without and with them. 245 MB
at a million.

Django drops a `…_like` index with IF EXISTS when a field's index changes, so later
migrations of these fields still run. SQLite has no such indexes: nothing there.
"""

from typing import Any

from django.db import migrations

PATTERN_INDEXED = {
    "customer": ("name", "name_normalised", "customer_type", "cooperation_status", "grade"),
    "contact": ("mobile",),
}


def _each(apps: Any) -> Any:
    for model_name, field_names in PATTERN_INDEXED.items():
        model = apps.get_model("customers", model_name)
        for field_name in field_names:
            yield model, model._meta.get_field(field_name)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _each(apps):
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _each(apps):
        statement = schema_editor._create_like_index_sql(model, field)
        if statement is not None:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0016_search_name_tokens"),
    ]

    operations = [
        migrations.RunPython(drop, create),
    ]
