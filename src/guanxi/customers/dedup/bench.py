"""Benchmark of the archive-wide duplicate scan, called by `python -m guanxi bench` after it
has generated the archive (1,000,000 customers). Target: ≤ 120 s (issue 3)."""

from __future__ import annotations

import time
from typing import Any

from guanxi.customers.dedup.matching import REVIEW_SCORE, duplicate_scan

SCAN_TARGET_S = 120


def bench_dedup_scan(*, db_label: str) -> dict[str, Any]:
    """Scan the whole current archive once at the review page's default threshold: read
    every live customer's key in index order, compare within blocks, drop dismissed pairs.
    The pairs are produced and dropped, as a full scan by a command would stream them."""
    started = time.perf_counter()
    for _pair in duplicate_scan(actor=None, threshold=REVIEW_SCORE):
        pass
    elapsed = time.perf_counter() - started
    return {
        "metric": "dedup_scan_1m_s",
        "value": round(elapsed, 2),
        "unit": "s",
        "db": db_label,
        "target": SCAN_TARGET_S,
    }
