"""core.prepared: hot statements prepared once per connection on PostgreSQL, ordinary
statements where prepared statements are off and on SQLite."""

import pytest
from django.db import connection

from guanxi.core import prepared

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_fetchone_returns_the_first_row_with_typed_parameters():
    sql = "SELECT CAST(%s AS integer) + 1, CAST(%s AS text), CAST(%s AS numeric) * 2"
    for _ in range(3):
        assert prepared.fetchone(sql, [41, "关系", "1.25"]) == (42, "关系", pytest.approx(2.5))
    assert prepared.fetchone("SELECT 1 WHERE 1 = CAST(%s AS integer)", [2]) is None


@postgres_only
@pytest.mark.django_db
def test_on_postgresql_the_statement_is_prepared_once_per_connection():
    sql = "SELECT CAST(%s AS integer) * 7"
    assert prepared.fetchone(sql, [6]) == (42,)
    assert prepared.fetchone(sql, [2]) == (14,)
    statements = [s for s in _prepared_statements() if "* 7" in s]
    assert len(statements) == 1 and "$1" in statements[0]


@postgres_only
@pytest.mark.django_db
def test_with_prepared_statements_off_nothing_is_prepared(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    assert prepared.fetchone("SELECT CAST(%s AS integer) * 11", [2]) == (22,)
    assert not [s for s in _prepared_statements() if "* 11" in s]


@postgres_only
@pytest.mark.django_db
def test_errors_are_djangos():
    from django.db import DataError

    with pytest.raises(DataError):
        prepared.fetchone("SELECT CAST(%s AS integer)", ["not a number"])


@pytest.mark.django_db
def test_statements_show_in_djangos_query_log():
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        prepared.fetchone("SELECT CAST(%s AS integer) * 13", [3])
    assert any("* 13" in query["sql"] for query in queries.captured_queries)


@postgres_only
@pytest.mark.django_db
def test_connections_run_without_jit_compilation():
    # settings.DB_JIT (default off): JIT cost 4-20 ms on search queries with large estimates
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
