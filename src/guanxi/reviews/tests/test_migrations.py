"""Migration 0002 grants the review permissions to existing default roles, and takes them
back when unapplied — also together with the migrations after it (reviews zero)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from guanxi.org.models import Role
from guanxi.org.roles import ensure_default_roles


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _review_codenames(code):
    role = Role.objects.get(code=code)
    return set(
        role.permissions.filter(content_type__app_label="reviews").values_list(
            "codename", flat=True
        )
    )


@pytest.mark.django_db(transaction=True)
def test_unapplying_and_reapplying_the_review_migrations_keeps_the_role_grants():
    ensure_default_roles()
    assert "rate_reviewentry" in _review_codenames("salesperson")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    _migrate([("reviews", None)])  # reviews zero: 0002 unapplied with 0001
    try:
        assert _review_codenames("salesperson") == set()
    finally:
        _migrate(leaves)
    assert "rate_reviewentry" in _review_codenames("salesperson")
    assert "view_dashboard" in _review_codenames("supervisor")
