"""Company policy: `policy.get(key, at=...)` reads the rule in force at a moment.

Rules are declared once in `registry.py`; values are stored as versioned overlays with an
effective date (see models.PolicyVersion).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def get(key: str, *, at: dt.datetime | None = None) -> Any:
    from guanxi.policy.selectors import policy_get

    return policy_get(key, at=at)


def version_at(at: dt.datetime | None = None) -> int:
    from guanxi.policy.selectors import policy_version_at

    return policy_version_at(at)
