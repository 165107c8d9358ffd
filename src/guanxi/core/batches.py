"""Set-based work over the whole archive in id ranges, on several database connections at
once (GUANXI_BATCH_WORKERS, default 2: one per core of the reference machine).

A range is one transaction. The statements of a range run in the database server, so
while one connection waits for its range the server works on another's: on PostgreSQL
two workers keep two cores busy. Ranges run one after the other on SQLite (one writer at
a time), with one worker, and inside an open transaction (tests, or a caller that needs
the work to be part of its own transaction: other connections would not see its rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections

T = TypeVar("T")


def workers() -> int:
    return max(1, int(getattr(settings, "GUANXI_BATCH_WORKERS", 2)))


def run_ranges(
    work: Callable[[range], T], ranges: Iterable[range], *, parallel: bool = True
) -> list[T]:
    """work(range) for every range, in order of the ranges in the result."""
    ranges = list(ranges)
    count = workers() if parallel else 1
    if (
        count == 1
        or len(ranges) < 2
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
    ):
        return [work(part) for part in ranges]
    return _in_threads(work, ranges, count)


def read_ranges(work: Callable[[range], T], ranges: Iterable[range]) -> list[T]:
    """Like run_ranges, for work that only reads committed rows while the caller's own
    transaction stays open (e.g. holding a lock that keeps writers out, having written
    nothing the work must see): on PostgreSQL the ranges are read on other connections
    even inside that transaction."""
    ranges = list(ranges)
    if workers() == 1 or len(ranges) < 2 or connection.vendor != "postgresql":
        return [work(part) for part in ranges]
    return _in_threads(work, ranges, workers())


def _in_threads(work: Callable[[range], T], ranges: list[range], count: int) -> list[T]:
    def in_thread(part: range) -> T:
        try:
            return work(part)
        finally:
            connections.close_all()  # this thread's own connections

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="guanxi-batch") as pool:
        return list(pool.map(in_thread, ranges))
