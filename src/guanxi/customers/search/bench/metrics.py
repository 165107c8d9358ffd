"""The benchmark's metrics. Adding one is adding one decorated function:

    @metric("search_p95_ms", unit="ms", target=50, lower_is_better=True)
    def search_p95(ctx: Context) -> Measured: ...

It runs on the benchmark database (the current connection) with the data set built;
`ctx` gives the scale, the users, a work directory and the repeat count. Metric names are
a contract (var/bench/results.json); each function returns the headline value and its
details (per user, per query length, p50 …) for the Markdown table.

Timings are medians of `ctx.repeat` rounds (3), never asserted in tests.
"""

from __future__ import annotations

import importlib
import inspect
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client

from guanxi.customers import selectors
from guanxi.customers.models import Contact, Customer
from guanxi.customers.search import index
from guanxi.customers.search.bench.dataset import remove_customers_after

PAGE_SIZE = 50
# The users the headline figures are for (the issue's "a salesperson and an all-scope
# user"); others (a small-book salesperson) are reported in the details.
HEADLINE_USERS = ("salesperson", "all_scope")


@dataclass
class Context:
    db: str  # "sqlite" | "postgresql"
    customers: int
    quick: bool
    workdir: Path
    repeat: int
    users: dict[str, Any]  # "salesperson", "all_scope", "small_book"
    env: dict[str, str]  # the environment of this benchmark database (for servers)
    seed: int = 2026


@dataclass
class Measured:
    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    target: float | dict[str, float] | None  # one target, or one per database
    lower_is_better: bool
    function: Callable[[Context], Measured]
    scale: str = "archive"  # "archive": the benchmark data set; "empty": an empty archive


METRICS: list[Metric] = []


def metric(
    name: str,
    *,
    unit: str,
    target: float | dict[str, float] | None,
    lower_is_better: bool,
    scale: str = "archive",
) -> Callable[[Callable[[Context], Measured]], Callable[[Context], Measured]]:
    def register(function: Callable[[Context], Measured]) -> Callable[[Context], Measured]:
        METRICS.append(Metric(name, unit, target, lower_is_better, function, scale))
        return function

    return register


# --- helpers -----------------------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 50 timings is the 48th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _first_page(actor: Any, search: str, cursor: str | None = None) -> int:
    """What the list page asks the database for, as customers.views.customer_list asks it:
    the scoped, searched list (the page's columns), one keyset page of 50, the bounded
    total, and the rows' contacts and tags. Returns the row count."""
    from guanxi.customers import views
    from guanxi.customers.search import viewer

    selected = {"search": search, "sort": "updated"}
    _page, rows, _reference = views.list_rows(
        actor, selected, tokens=viewer.versions(), cursor=cursor
    )
    return len(rows)


def _timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def search_queries(ctx: Context) -> dict[str, list[str]]:
    """Queries people type, drawn from the data: 1 character, 2 characters (a brand, a
    surname, a word of a name), 3+ (a brand and trade, a contact's full name, the last four
    digits of a mobile, a credit-code fragment). Deterministic for a seed."""
    rnd = random.Random(ctx.seed)
    count = 20 if ctx.quick else 40
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = [rnd.randint(1, top) for _ in range(count * 4)]
    customers = list(Customer.objects.filter(pk__in=ids).values_list("name", "credit_code"))
    contacts = list(Contact.objects.filter(customer_id__in=ids).values_list("name", "mobile"))
    rnd.shuffle(customers)
    rnd.shuffle(contacts)

    def piece(text: str, length: int) -> str:
        start = rnd.randrange(0, max(1, len(text) - length + 1))
        return text[start : start + length]

    names = [n for n, _code in customers]
    people = [n for n, _mobile in contacts]
    one = [piece(rnd.choice(names + people), 1) for _ in range(count)]
    two = [
        piece(rnd.choice(names), 2) if i % 2 else piece(rnd.choice(people), 2) for i in range(count)
    ]
    longer = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            longer.append(piece(rnd.choice(names), rnd.randint(3, 6)))
        elif kind == 1:
            longer.append(rnd.choice(people))
        elif kind == 2:
            longer.append(rnd.choice([m for _n, m in contacts if m])[-4:])
        else:
            codes = [c for _n, c in customers if c]
            longer.append(piece(rnd.choice(codes), 8))
    return {"1": one, "2": two, "3+": [q if len(q) >= 3 else q + "有限" for q in longer]}


# --- search and list -----------------------------------------------------------------------------
@metric("search_p95_ms", unit="ms", target=50, lower_is_better=True)
def search_p95(ctx: Context) -> Measured:
    """First page (50 rows, the list's prefetches, the bounded count) of a search, by query
    length, for a salesperson and for an all-scope user; the plan choice is made afresh for
    every query (its cache cleared; the user's scope share stays cached, as in a server). Headline: the worst p95 of the six cells."""
    queries = search_queries(ctx)
    detail: dict[str, Any] = {}
    for who, actor in ctx.users.items():
        _first_page(actor, "")  # warm: policy cache, scope
        for length, texts in queries.items():
            p95s, p50s = [], []
            for _round in range(ctx.repeat):
                timings = []
                for text in texts:
                    index.clear_plan_cache(shares=False)  # per user, kept for minutes
                    timings.append(_timed(lambda a=actor, t=text: _first_page(a, t)))
                p95s.append(percentile(timings, 0.95))
                p50s.append(statistics.median(timings))
            detail[f"{who} {length}"] = {
                "p50_ms": _ms(statistics.median(p50s)),
                "p95_ms": _ms(statistics.median(p95s)),
            }
    detail["queries"] = {k: v[:8] for k, v in queries.items()}
    worst = max(v["p95_ms"] for k, v in detail.items() if k.split()[0] in HEADLINE_USERS)
    return Measured(worst, detail)


@metric("list_first_page_p95_ms", unit="ms", target=30, lower_is_better=True)
def list_first_page_p95(ctx: Context) -> Measured:
    """The customer list page for a salesperson and an all-scope user, in process through
    the Django test client (middleware, view, template): first page, and a keyset page deep
    in the list for comparison. Headline: the worst first-page p95."""
    rounds = 30 if ctx.quick else 50
    detail: dict[str, Any] = {}
    for who, actor in ctx.users.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(actor)
        assert client.get("/customers/").status_code == 200  # warm
        deep = _deep_cursor(actor)
        for label, path in (
            ("first page", "/customers/"),
            ("deep page", f"/customers/?cursor={deep}"),
        ):
            p95s, p50s = [], []
            for _round in range(ctx.repeat):
                timings = [_timed(lambda c=client, p=path: c.get(p)) for _ in range(rounds)]
                p95s.append(percentile(timings, 0.95))
                p50s.append(statistics.median(timings))
            detail[f"{who} {label}"] = {
                "p50_ms": _ms(statistics.median(p50s)),
                "p95_ms": _ms(statistics.median(p95s)),
            }
        selected = [
            _timed(lambda a=actor: _first_page(a, "")) for _ in range(rounds)
        ]  # the database part alone
        detail[f"{who} first page, queries only"] = {"p95_ms": _ms(percentile(selected, 0.95))}
    worst = max(
        v["p95_ms"]
        for k, v in detail.items()
        if k.endswith("first page") and k.split()[0] in HEADLINE_USERS
    )
    return Measured(worst, detail)


def _deep_cursor(actor: Any) -> str:
    """A cursor about 80% down the actor's list (the page a user never reaches by OFFSET;
    found by walking the list backwards, which is as cheap as forwards)."""
    from guanxi.customers.search.pagination import Cursor

    customers = selectors.customer_list(actor=actor)
    depth = max(1, min(customers.count(), 200_000) // 5)
    row = (
        customers.order_by("updated_at", "id").values("pk", "updated_at")[depth - 1 : depth].first()
    )
    if row is None:
        return ""
    return Cursor("updated", row["updated_at"], row["pk"]).encode()


@metric("list_rps_ratio_to_floor", unit="ratio", target=0.25, lower_is_better=False)
def list_rps_ratio(ctx: Context) -> Measured:
    """Requests/s of the salesperson's list page (50 rows, real template, logged in) over
    the requests/s of a trivial view, on the same gunicorn (2 workers) in the same run;
    alternating runs, median ratio. The list is served as configured (whole pages cached
    between requests, customers.search.page_cache); the same measurement with the page
    cache off (GUANXI_LIST_PAGE_CACHE=0) is in the details: what every request costs when
    the page has to be rendered."""
    actor = ctx.users["salesperson"]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(actor)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    connection.close()  # the server's workers open their own
    cached = _list_and_floor(ctx, cookie, {})
    rendered = _list_and_floor(ctx, cookie, {"GUANXI_LIST_PAGE_CACHE": "0"})
    detail = {
        "floor_rps": cached["floor_rps"],
        "list_rps": cached["list_rps"],
        "list_page_bytes": cached["list_page_bytes"],
        "page_cache_off": rendered,
        "errors": cached["errors"] + rendered["errors"],
        "server": "gunicorn, 2 sync workers; client: 4 threads, one connection per request",
    }
    return Measured(cached["ratio"], detail)


def _list_and_floor(ctx: Context, cookie: str, env: dict[str, str]) -> dict[str, Any]:
    from guanxi.customers.search.bench.server import gunicorn, load

    seconds = 3.0 if ctx.quick else 6.0
    ratios, floors, lists, errors, size = [], [], [], 0, 0
    with gunicorn(env={**ctx.env, **env}) as port:
        load(port, "/customers/", cookie=cookie, seconds=1.0)  # warm both workers
        load(port, "/bench/floor/", cookie=cookie, seconds=1.0)
        for _round in range(ctx.repeat):
            floor = load(port, "/bench/floor/", cookie=cookie, seconds=seconds)
            page = load(port, "/customers/", cookie=cookie, seconds=seconds)
            errors += floor.errors + page.errors
            floors.append(floor.per_second)
            lists.append(page.per_second)
            ratios.append(page.per_second / floor.per_second if floor.per_second else 0.0)
            size = page.body_bytes
    return {
        "ratio": round(statistics.median(ratios), 3),
        "floor_rps": round(statistics.median(floors), 1),
        "list_rps": round(statistics.median(lists), 1),
        "list_page_bytes": size,
        "errors": errors,
    }


# --- capabilities of the other sub-packages (imported lazily) -----------------------------------
def _external(
    module: str, function: str, ctx: Context, *, keep: bool = False, **offered: Any
) -> Measured:
    """Call another sub-package's benchmark function with the arguments it accepts (by
    name: rows, db_label, customers, quick, workdir) `ctx.repeat` times; unless `keep`,
    customers it added are removed between rounds so every round sees the same archive."""
    try:
        target = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return Measured(None, note=f"{module}.{function} is not available")
    offered.setdefault("db_label", ctx.db)
    offered.setdefault("customers", ctx.customers)
    offered.setdefault("quick", ctx.quick)
    offered.setdefault("workdir", ctx.workdir)
    parameters = inspect.signature(target).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    arguments = {k: v for k, v in offered.items() if accepts_any or k in parameters}
    values = []
    result: Any = None
    for _round in range(ctx.repeat):
        top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        result = target(**arguments)
        values.append(result["value"] if isinstance(result, dict) else float(result))
        if not keep:
            remove_customers_after(top)
    detail = {"runs": values}
    if isinstance(result, dict):
        detail.update(
            {
                k: v
                for k, v in result.items()
                if k not in {"metric", "value", "db", "unit", "target"}
            }
        )
    return Measured(statistics.median(values), detail)


def _import_rows(ctx: Context) -> int:
    return 5_000 if ctx.quick else 100_000


@metric("import_rows_per_s", unit="rows/s", target=10_000, lower_is_better=False, scale="empty")
def import_into_empty_archive(ctx: Context) -> Measured:
    """A 100,000-row .xlsx (5,000 with --quick) imported end to end into an empty archive
    (customers.imports.bench.bench_import); a fresh database for every round (runner.run),
    so the imported customers are left in it rather than deleted again."""
    return _external(
        "guanxi.customers.imports.bench", "bench_import", ctx, keep=True, rows=_import_rows(ctx)
    )


@metric("import_rows_per_s", unit="rows/s", target=3_000, lower_is_better=False)
def import_into_the_archive(ctx: Context) -> Measured:
    """The same file into the benchmark archive, duplicate checks on; the imported
    customers are removed again afterwards so later metrics and runs see the same data."""
    return _external("guanxi.customers.imports.bench", "bench_import", ctx, rows=_import_rows(ctx))


@metric("export_rows_per_s", unit="rows/s", target=10_000, lower_is_better=False)
def export_rows(ctx: Context) -> Measured:
    rows = 10_000 if ctx.quick else 100_000
    return _external("guanxi.customers.imports.bench", "bench_export", ctx, rows=rows)


@metric("dedup_scan_1m_s", unit="s", target=120, lower_is_better=True)
def dedup_scan(ctx: Context) -> Measured:
    return _external("guanxi.customers.dedup.bench", "bench_dedup_scan", ctx)


# --- ledger, credit control and grading (issues 4 and 5) -----------------------------------------
@metric("credit_recompute_1m_s", unit="s", target=120, lower_is_better=True)
def credit_recompute(ctx: Context) -> Measured:
    """Balances, ageing, timeliness and credit levels of every customer recomputed from the
    ledger (10 rows per customer; ledger.bench.bench_credit_recompute)."""
    return _external(
        "guanxi.ledger.bench", "bench_credit_recompute", ctx, keep=True, rows=ctx.customers * 10
    )


@metric("shipments_per_s", unit="shipments/s", target=500, lower_is_better=False)
def shipments(ctx: Context) -> Measured:
    """Shipments recorded with the credit-limit check by 8 concurrent writers."""
    return _external("guanxi.ledger.bench", "bench_shipments", ctx, keep=True)


@metric("grading_1m_s", unit="s", target={"postgresql": 60, "sqlite": 120}, lower_is_better=True)
def grading(ctx: Context) -> Measured:
    """Every customer graded set-based (grading.bench.bench_grading)."""
    return _external("guanxi.grading.bench", "bench_grading", ctx, keep=True)


@metric("grading_speedup_vs_loop", unit="ratio", target=20, lower_is_better=False)
def grading_speedup(ctx: Context) -> Measured:
    """The set-based grading against a per-customer ORM loop on a 10,000-customer sample."""
    return _external("guanxi.grading.bench", "bench_grading_speedup", ctx, keep=True)
