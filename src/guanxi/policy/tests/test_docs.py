"""docs/policies.md is generated from the registry and must not go stale."""

from io import StringIO

from django.conf import settings
from django.core.management import call_command

from guanxi.policy import registry
from guanxi.policy.management.commands.policy_docs import SECTIONS, render

DOCS = settings.PROJECT_DIR / "docs" / "policies.md"


def test_committed_docs_match_the_registry():
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/policies.md is stale: run `make docs` (python -m guanxi policy-docs -o docs/policies.md)"
    )


def test_command_writes_to_stdout_and_to_a_file(tmp_path):
    out = StringIO()
    call_command("policy_docs", stdout=out)
    assert out.getvalue() == render()

    target = tmp_path / "sub" / "policies.md"
    call_command("policy_docs", "-o", str(target), stderr=StringIO())
    assert target.read_text(encoding="utf-8") == render()


def test_every_rule_is_documented_in_its_section():
    text = render()
    assert "policy.get(key, at=...)" in text
    for section in {rule.section for rule in registry.REGISTRY.values()}:
        assert f"## {SECTIONS.get(section, section)}" in text
    for rule in registry.REGISTRY.values():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{rule.key}` |"))
        assert rule.label in row
        assert rule.help.replace("|", "\\|") in row
    # Defaults are compact JSON with Chinese kept readable.
    assert '`{"salesperson":500,"supervisor":5000,"*":20000}`' in text
    assert '"label":"建筑工程公司"' in text
