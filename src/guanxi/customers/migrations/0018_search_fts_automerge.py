"""SQLite: the search index's FTS5 tables merge their segments sixteen at a time, not four.

FTS5 writes each flush of new rows as a segment and merges segments of one level into
the next when `automerge` of them have gathered (default 4): a row's index entries are
written again once per level, log₄ of the index's size. Merging sixteen at a time
(automerge 16, the same as FTS5's default `crisismerge`) writes them half as often
(log₁₆) and lets up to fifteen segments wait on a level.

Measured at a million customers (docs/benchmarks.md, session 13), 100,000-row imports
into a copy of the archive: the trigram table's INSERT took 1.7 s instead of 4.6 s and the
import ran at 3,050–3,195 rows/s instead of 2,735–2,828 (alternating runs; a run that
reaches a deeper merge pays it, 2,574). Search read the same after three such imports
with either setting: p95 64.6 ms (16) and 67.4 ms (4) at 1.3 M customers.

The setting lives in each table's own configuration (its %_config shadow table), so it
holds for every connection. PostgreSQL: nothing (no FTS5).
"""

from django.db import migrations

from guanxi.core.migration_ops import vendor_sql

FTS_TABLES = ("customers_search_fts", "customers_search_name_fts")
AUTOMERGE = 16
FTS5_DEFAULT_AUTOMERGE = 4


def _automerge(value: int) -> list[str]:
    return [
        f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', {value})" for table in FTS_TABLES
    ]


class Migration(migrations.Migration):
    dependencies = [("customers", "0017_drop_pattern_indexes")]

    operations = [
        vendor_sql(
            {"sqlite": _automerge(AUTOMERGE)}, {"sqlite": _automerge(FTS5_DEFAULT_AUTOMERGE)}
        ),
    ]
