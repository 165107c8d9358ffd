"""Guards for conventions that keep data scope and policy in one place (STYLE.md §4–5)."""

import re
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = [
    p
    for p in ROOT.rglob("*.py")
    if ("tests" not in p.parts and "migrations" not in p.parts)
    and (p.name in {"views.py", "api.py", "forms.py"} or "api" in p.parts or "views" in p.parts)
]
BARE_GET = re.compile(r"\.objects\.(get|filter)\((pk|id)\s*=")


def test_entry_points_exist():
    assert any(p.name == "views.py" for p in ENTRY_POINTS)


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_fetch_by_id_outside_selectors(path):
    """Fetching by id must go through a scoped selector (customer_get …), never
    Model.objects.get(pk=<user input>) in a view, API or form."""
    offending = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BARE_GET.search(line) and "# scoped:" not in line
    ]
    assert offending == []


def test_postgres_databases_use_a_utf8_ctype(db):
    """pg_trgm sees no trigrams in Chinese under LC_CTYPE=C (measured on this machine)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lc_ctype")
        assert cursor.fetchone()[0].lower().replace("-", "") in {"c.utf8", "en_us.utf8"}
        cursor.execute("SHOW server_encoding")
        assert cursor.fetchone()[0] == "UTF8"


FORM_FILES = [
    p
    for p in ROOT.rglob("*.py")
    if "tests" not in p.parts and "migrations" not in p.parts and p != ROOT / "core" / "forms.py"
]


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_model_choice_fields_come_from_core_forms(path):
    """Django's own model choice fields let a huge id reach the database driver (a 500)."""
    text = path.read_text(encoding="utf-8")
    assert "forms.ModelChoiceField(" not in text and "forms.ModelMultipleChoiceField(" not in text
