"""Where the current request came from, for audit rows written deep inside services.

The middleware sets it per request; commands set `source` themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    source: str = ""


_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "guanxi_audit_context",
    default=AuditContext(),  # noqa: B039 - frozen dataclass, immutable
)


def current() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def using(ctx: AuditContext) -> Iterator[None]:
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)
