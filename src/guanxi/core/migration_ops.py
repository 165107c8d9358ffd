"""Operations shared by migrations (imported by them: keep these stable)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import migrations


def postgresql_sql(forward: Sequence[str], reverse: Sequence[str]) -> migrations.RunPython:
    """Run `forward` in order on PostgreSQL, `reverse` when the migration is unapplied;
    nothing on other databases (SQLite keeps its own statements, or needs none)."""
    return migrations.RunPython(_statements(forward), _statements(reverse))


def _statements(statements: Sequence[str]) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return run
