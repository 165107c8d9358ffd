"""Parsing ids that come from users: a positive integer that fits a 64-bit column, or None.

Anything else (text, floats, booleans, 2**63) would either match nothing or overflow the
database driver; callers treat None as "not found".
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        # ASCII only: str.isdigit() also accepts superscripts ("²"), which int() refuses.
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None
