"""Operations shared by migrations (imported by them: keep these stable)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import migrations

Statements = Mapping[str, Sequence[str]]


def vendor_sql(forward: Statements, reverse: Statements, *, what: str = "") -> migrations.RunPython:
    """Run the statements given for the connection's vendor ("sqlite", "postgresql"), in
    order: `forward` when the migration is applied, `reverse` when it is unapplied. A
    vendor without statements gets nothing, unless `what` is given: then applying on a
    database that `forward` does not name raises NotImplementedError, naming `what`."""
    return migrations.RunPython(_statements(forward, what), _statements(reverse, ""))


def postgresql_sql(forward: Sequence[str], reverse: Sequence[str]) -> migrations.RunPython:
    """vendor_sql for PostgreSQL alone: nothing on other databases (SQLite keeps its own
    statements, or needs none)."""
    return vendor_sql({"postgresql": forward}, {"postgresql": reverse})


def _statements(by_vendor: Statements, what: str) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in by_vendor:
            if what:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
                raise NotImplementedError(f"{what}: unsupported database {vendor}")
            return
        with schema_editor.connection.cursor() as cursor:
            for statement in by_vendor[vendor]:
                cursor.execute(statement)

    return run
