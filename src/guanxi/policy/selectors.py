"""Reading the policy in force. Published versions are cached in-process for a few seconds;
publishing in this process clears the cache at once."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from typing import Any

from django.utils import timezone

from guanxi.policy.models import PolicyVersion
from guanxi.policy.registry import get_rule

_CACHE_SECONDS = 5.0
_lock = threading.Lock()
_cache: dict[str, Any] = {"loaded_at": None, "versions": []}


def clear_cache() -> None:
    with _lock:
        _cache["loaded_at"] = None
        _cache["versions"] = []


def _published_versions() -> list[tuple[dt.datetime, int, dict[str, Any]]]:
    now = time.monotonic()
    with _lock:
        loaded_at = _cache["loaded_at"]
        if loaded_at is not None and now - loaded_at < _CACHE_SECONDS:
            cached: list[tuple[dt.datetime, int, dict[str, Any]]] = _cache["versions"]
            return cached
    versions = [
        (version.effective_from, version.number, {v.key: v.value for v in version.values.all()})
        for version in PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED)
        .prefetch_related("values")
        .order_by("effective_from", "number")
    ]
    with _lock:
        _cache["loaded_at"] = now
        _cache["versions"] = versions
    return versions


def policy_resolve(key: str, *, at: dt.datetime | None = None) -> tuple[Any, int]:
    """(value, version number that set it; 0 = default pack)."""
    rule = get_rule(key)
    at = at or timezone.now()
    value, number = rule.default, 0
    for effective_from, version_number, values in _published_versions():
        if effective_from > at:
            break
        if key in values:
            value, number = values[key], version_number
    return copy.deepcopy(value), number


def policy_get(key: str, *, at: dt.datetime | None = None) -> Any:
    return policy_resolve(key, at=at)[0]


def policy_version_at(at: dt.datetime | None = None) -> int:
    """The newest published version in force at `at` (0 when only defaults apply)."""
    at = at or timezone.now()
    number = 0
    for effective_from, version_number, _values in _published_versions():
        if effective_from > at:
            break
        number = version_number
    return number


def choices(key: str, *, at: dt.datetime | None = None) -> list[tuple[str, str]]:
    """(code, label) pairs of a coded-list rule such as customers.types."""
    return [(entry["code"], entry["label"]) for entry in policy_get(key, at=at)]


def label_for(key: str, code: str, *, at: dt.datetime | None = None) -> str:
    return dict(choices(key, at=at)).get(code, code)
