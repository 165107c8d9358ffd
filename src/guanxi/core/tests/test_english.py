"""The English interface: the catalogue is complete and the site and API speak it on request.

Msgids are Simplified Chinese (the default language); locale/en holds the English. Pages
switch with the language cookie, API clients may also send Accept-Language. The .mo is
git-ignored (`make messages` builds it), so this module compiles it when it is missing.
"""

from __future__ import annotations

import ast
import contextlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.signals import setting_changed
from django.test import signals  # noqa: F401  (its receivers reset the translation caches)
from django.urls import reverse

from guanxi.core.testing import api_client, make_customer

PO = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

EN_BAD_MOBILE = (
    "The mobile number must be an 11-digit mainland China mobile number "
    "starting with 13–19, e.g. 13812345678."
)
EN_INVALID = "The submitted data is invalid. Please check the highlighted fields."


@pytest.fixture(scope="session", autouse=True)
def english_catalogue():
    """Build django.mo from django.po when it is missing or older (e.g. on a fresh clone)."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        # compilemessages also walks the working directory for locale/ folders: run it from
        # the project's locale folder so it never touches .venv or node_modules.
        with contextlib.chdir(PO.parents[2]):
            call_command("compilemessages", locale=["en"], verbosity=0)
        # A catalogue loaded before the .mo existed would otherwise stay cached (empty):
        # let Django's test receivers drop their translation caches.
        setting_changed.send(
            sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=False
        )
    assert MO.exists()


# --- a tiny .po reader (no polib: it is not a project dependency) ----------------------------

_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")$')
_CONTINUATION = re.compile(r'^(".*")$')


def read_po(path: Path) -> list[dict]:
    """Entries as dicts: flags (set), msgid, msgid_plural, msgstr (list of forms)."""
    entries: list[dict] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry: dict = {"flags": set(), "msgid_plural": None}
        key = None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#") or not line:
                continue
            elif match := _LINE.match(line):
                key, text = match.group(1), ast.literal_eval(match.group(2))
                entry[key] = (entry.get(key) or "") + text
            elif (match := _CONTINUATION.match(line)) and key:
                entry[key] += ast.literal_eval(match.group(1))
            else:
                raise AssertionError(f"unreadable line in {path.name}: {line!r}")
        if "msgid" not in entry:
            continue
        forms = sorted(k for k in entry if k.startswith("msgstr"))
        entry["msgstr"] = [entry.pop(k) for k in forms]
        entries.append(entry)
    return entries


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
_BRACE = re.compile(r"\{[^{}]*\}")


def placeholders(text: str, flags: set[str]) -> list[str]:
    found = _BRACE.findall(text)
    if "python-format" in flags:
        found += _PERCENT.findall(text)
    return sorted(found)


def test_the_reader_understands_the_catalogue():
    entries = read_po(PO)
    header = [e for e in entries if e["msgid"] == ""]
    assert len(header) == 1
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header[0]["msgstr"][0]
    by_id = {e["msgid"]: e for e in entries}
    assert by_id["客户列表"]["msgstr"] == ["Customer list"]
    assert len(by_id["%(days)s天后"]["msgstr"]) == 2


def test_every_entry_is_translated_and_keeps_its_placeholders():
    entries = read_po(PO)
    assert len(entries) > 400
    problems = []
    for entry in entries:
        msgid, flags = entry["msgid"], entry["flags"]
        if "fuzzy" in flags:
            problems.append(f"fuzzy: {msgid!r}")
        if msgid == "":
            continue
        sources = [msgid] if entry["msgid_plural"] is None else [msgid, entry["msgid_plural"]]
        expected = placeholders(sources[-1], flags)
        if entry["msgid_plural"] is not None and len(entry["msgstr"]) != 2:
            problems.append(f"needs two plural forms: {msgid!r}")
        for msgstr in entry["msgstr"]:
            if not msgstr.strip():
                problems.append(f"untranslated: {msgid!r}")
            elif msgstr == msgid and not msgid.isascii():
                problems.append(f"copied, not translated: {msgid!r}")
            elif placeholders(msgstr, flags) != expected:
                problems.append(f"placeholders differ: {msgid!r} → {msgstr!r}")
            # What msgfmt --check insists on: leading and trailing newlines match.
            if msgstr.startswith("\n") != msgid.startswith("\n") or msgstr.endswith(
                "\n"
            ) != msgid.endswith("\n"):
                problems.append(f"newlines differ: {msgid!r}")
    assert problems == []


# --- the site and the API in English ------------------------------------------------------


@pytest.fixture
def listed(org):
    make_customer(org.sales_bj, name="北京星河建材有限公司", credit_code="914403001922038216")
    return org


def test_customer_list_in_english_with_the_language_cookie(client, listed):
    client.force_login(listed.sales_bj)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("customer_list"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    page = response.content.decode()
    for english in ("Customer list", "New customer", "Customer name", "Owner", "Branch"):
        assert english in page
    for chinese in ("客户列表", "新建客户", "客户名称", "负责人", "分支机构"):
        assert chinese not in page
    assert "北京星河建材有限公司" in page  # data stays as entered


def test_customer_list_in_english_after_the_language_switch(client, listed):
    """Pages follow the language switch (not the browser's Accept-Language)."""
    client.force_login(listed.sales_bj)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("customer_list")).content.decode()
    assert "Customer list" in page
    assert "客户列表" not in page


def test_customer_list_defaults_to_simplified_chinese(client, listed):
    client.force_login(listed.sales_bj)
    response = client.get(reverse("customer_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "客户列表" in page
    assert "Customer list" not in page


def test_api_validation_error_in_english(org):
    response = api_client(org.sales_bj).post(
        "/api/customers/",
        {"name": "联系人有误的公司", "contacts": [{"name": "乙", "mobile": "12345"}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": EN_INVALID,
        "detail": {"contacts": [{"mobile": [EN_BAD_MOBILE]}]},
    }


def test_api_validation_error_defaults_to_chinese(org):
    response = api_client(org.sales_bj).post(
        "/api/customers/",
        {"name": "联系人有误的公司", "contacts": [{"name": "乙", "mobile": "12345"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {
        "contacts": [
            {"mobile": ["手机号码应为11位中国大陆手机号，以13–19开头，例如 13812345678。"]}
        ]
    }
