"""Reading the policy in force. Published versions are cached in-process for a few seconds;
publishing in this process clears the cache at once.

Resolved values are memoised on top of that snapshot: between two consecutive effective
moments every key resolves the same way, so a value found for a moment serves every other
moment of the same interval until the snapshot is reloaded (a list page asks for the same
few keys a hundred times per request).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

from django.utils import timezone

from guanxi.policy.models import PolicyVersion
from guanxi.policy.registry import get_rule

_CACHE_SECONDS = 5.0
_lock = threading.Lock()
_cache: dict[str, Any] = {"loaded_at": None, "versions": [], "resolved": {}}
_IMMUTABLE = (str, int, float, bool, type(None), Decimal, dt.date, dt.datetime)


def clear_cache() -> None:
    with _lock:
        _cache["loaded_at"] = None
        _cache["versions"] = []
        _cache["resolved"] = {}


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
        _cache["resolved"] = {}
    return versions


def _copy(value: Any) -> Any:
    """A copy the caller may change (values are shared by the cache): immutable values and
    flat lists of them are copied without deepcopy's bookkeeping."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, list) and all(isinstance(item, _IMMUTABLE) for item in value):
        return list(value)
    return copy.deepcopy(value)


def policy_resolve(key: str, *, at: dt.datetime | None = None) -> tuple[Any, int]:
    """(value, version number that set it; 0 = default pack)."""
    rule = get_rule(key)
    at = at or timezone.now()
    versions = _published_versions()
    with _lock:
        resolved = _cache["resolved"] if _cache["versions"] is versions else {}
    found = resolved.get(key)
    if found is not None:
        start, end, value, number = found
        if (start is None or start <= at) and (end is None or at < end):
            return _copy(value), number
    value, number = rule.default, 0
    start = end = None
    for effective_from, version_number, values in versions:
        if effective_from > at:
            end = effective_from
            break
        start = effective_from
        if key in values:
            value, number = values[key], version_number
    # The interval [start, end) between effective moments resolves every key alike.
    resolved[key] = (start, end, value, number)
    return _copy(value), number


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
