"""`python -m guanxi bench`: build the benchmark databases, run the metrics, write
var/bench/results.json and var/bench/results.md.

Each database is benchmarked in a child process whose DATABASE_URL points at it (so the
project's own settings, backend and migrations apply, and so does the gunicorn server the
list metric starts):

    SQLite      var/bench/guanxi_bench_<N>.sqlite3 (kept between runs; --fresh rebuilds)
    PostgreSQL  database guanxi_bench (or guanxi_bench_<N> below a million; the prefix is
                the database named in BENCH_POSTGRES_URL), created with a UTF-8 locale, if
                the server at BENCH_POSTGRES_URL answers

Metrics that need an empty archive (import) get a fresh database per round. The data set
is reused when it already holds the requested number of customers.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/guanxi_bench"
FULL = 1_000_000
QUICK = 20_000


def bench_dir() -> Path:
    path = Path(settings.VAR_DIR) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- databases -------------------------------------------------------------------------------
def _postgres_base() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)


def _postgres_url(name: str) -> str:
    base = _postgres_base()
    return base.rsplit("/", 1)[0] + "/" + name


def _postgres_admin(action: str, name: str) -> bool:
    """CREATE (if missing, UTF-8 locale) or DROP a database; False if the server is away."""
    import psycopg

    maintenance = _postgres_base().rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if action == "drop" and exists:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            elif action == "create" and not exists:
                conn.execute(
                    f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
                    "LC_CTYPE 'C.UTF-8' TEMPLATE template0"
                )
    except psycopg.OperationalError:
        return False
    return True


def database_url(
    db: str, customers: int, *, empty: bool = False, fresh: bool = False
) -> str | None:
    """The URL of a benchmark database, created (or recreated when fresh); None if the
    PostgreSQL server does not answer."""
    suffix = "empty" if empty else ("" if customers == FULL else str(customers))
    if db == "sqlite":
        path = bench_dir() / f"guanxi_bench_{'empty' if empty else customers}.sqlite3"
        if fresh or empty:
            for extra in ("", "-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    # The database name of BENCH_POSTGRES_URL is the prefix (default guanxi_bench).
    name = _postgres_base().rsplit("/", 1)[1] + (f"_{suffix}" if suffix else "")
    if (fresh or empty) and not _postgres_admin("drop", name):
        return None
    if not _postgres_admin("create", name):
        return None
    return _postgres_url(name)


# --- the parent --------------------------------------------------------------------------------
def _child(
    db: str, url: str, *, customers: int, quick: bool, scale: str, repeat: int,
    metrics: list[str] | None, out: TextIO, prepare: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    target = bench_dir() / f"partial-{db}-{scale}.json"
    target.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "guanxi", "bench", "--child", db, "--scale", scale,
        "--customers", str(customers), "--repeat", str(repeat), "--output", str(target),
    ]  # fmt: skip
    if quick:
        command.append("--quick")
    if prepare:
        command.append("--prepare")
    for name in metrics or []:
        command += ["--metric", name]
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "GUANXI_DEV": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out.write(f"[{db}] {scale}: {url}\n")
    out.flush()
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0 or not target.exists():
        return [{"error": f"benchmark of {db} ({scale}) failed with status {completed.returncode}"}]
    return json.loads(target.read_text())


def run(
    *,
    customers: int,
    quick: bool,
    databases: list[str],
    metrics: list[str] | None,
    fresh: bool,
    repeat: int,
    out: TextIO,
    prepare: bool = False,
) -> list[dict[str, Any]]:
    from guanxi.customers.search.bench.metrics import METRICS

    wanted = [m for m in METRICS if not metrics or m.name in metrics]
    results: list[dict[str, Any]] = []
    for db in databases:
        url = database_url(db, customers, fresh=fresh)
        if url is None:
            out.write(f"[{db}] server not reachable: skipped\n")
            results += [
                _entry(m, None, db, customers, note="PostgreSQL not reachable") for m in wanted
            ]
            continue
        if prepare:
            _child(db, url, customers=customers, quick=quick, scale="archive", repeat=repeat,
                   metrics=metrics, out=out, prepare=True)  # fmt: skip
            continue
        if any(m.scale == "archive" for m in wanted):
            results += _child(db, url, customers=customers, quick=quick, scale="archive",
                              repeat=repeat, metrics=metrics, out=out)  # fmt: skip
        empty = [m for m in wanted if m.scale == "empty"]
        if empty:
            rounds: list[list[dict[str, Any]]] = []
            for _round in range(repeat):
                empty_url = database_url(db, customers, empty=True)
                if empty_url is None:
                    break
                rounds.append(_child(db, empty_url, customers=0, quick=quick, scale="empty",
                                     repeat=1, metrics=metrics, out=out))  # fmt: skip
            results += _median_of_rounds(rounds)
    return [r for r in results if "error" not in r] + [r for r in results if "error" in r]


def _median_of_rounds(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for entries in rounds:
        for entry in entries:
            key = f"{entry.get('metric')}"
            merged.setdefault(key, {**entry, "detail": {"runs": []}})
            if entry.get("value") is not None:
                merged[key]["detail"]["runs"].append(entry["value"])
    for entry in merged.values():
        runs = entry["detail"]["runs"]
        entry["value"] = round(statistics.median(runs), 1) if runs else None
    return list(merged.values())


def _entry(metric: Any, value: Any, db: str, scale: Any, **extra: Any) -> dict[str, Any]:
    return {
        "metric": metric.name,
        "value": value,
        "unit": metric.unit,
        "db": db,
        "target": metric.target.get(db) if isinstance(metric.target, dict) else metric.target,
        "scale": scale,
        **extra,
    }


# --- the child ---------------------------------------------------------------------------------
def run_child(
    *, db: str, scale: str, customers: int, quick: bool, repeat: int,
    metrics: list[str] | None, output: Path, out: TextIO, prepare: bool = False,
) -> None:  # fmt: skip
    from django.core.management import call_command

    from guanxi.customers.models import Customer
    from guanxi.customers.search.bench import dataset
    from guanxi.customers.search.bench.metrics import METRICS, Context

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    if scale == "archive":
        have = Customer.objects.count()
        if have < customers:
            out.write(f"[{db}] generating {customers - have:,} customers …\n")
            out.flush()

            def progress(done: int, total: int) -> None:
                if done == total or done % 50_000 == 0:
                    out.write(f"  {done:,}/{total:,} ({time.monotonic() - started:.0f} s)\n")
                    out.flush()

            summary = dataset.build_dataset(customers=customers - have, progress=progress)
            out.write(f"[{db}] data set ready: {summary}\n")
        else:
            dataset.analyse()
    else:
        dataset.seed_demo(customers=0)
    if prepare:
        output.write_text("[]")
        return
    context = Context(
        db=db,
        customers=Customer.objects.alive().count(),
        quick=quick,
        workdir=bench_dir(),
        repeat=repeat,
        users=_users(),
        env={
            k: v
            for k, v in os.environ.items()
            if k in {"DATABASE_URL", "DEBUG", "GUANXI_DEV", "SECRET_KEY", "GUANXI_VAR_DIR"}
        },
    )
    results = []
    for item in METRICS:
        if item.scale != scale or (metrics and item.name not in metrics):
            continue
        out.write(f"[{db}] {item.name} …\n")
        out.flush()
        top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        began = time.monotonic()
        try:
            measured = item.function(context)
        except Exception as exc:  # noqa: BLE001 - one failing metric must not lose the others
            results.append(_entry(item, None, db, context.customers, note=f"failed: {exc!r}"))
            out.write(f"[{db}] {item.name} failed: {exc!r}\n")
            continue
        finally:
            if scale == "archive":
                dataset.remove_customers_after(top)
        entry = _entry(item, measured.value, db, context.customers, detail=measured.detail)
        if measured.note:
            entry["note"] = measured.note
        entry["seconds"] = round(time.monotonic() - began, 1)
        results.append(entry)
        out.write(f"[{db}] {item.name} = {measured.value} {item.unit}\n")
        out.flush()
    output.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))


SMALL_BOOK = 500


def _users() -> dict[str, Any]:
    """The demo's salesperson 张伟 (data scope: self; about 9% of the archive) and general
    manager 赵国华 (all), plus a salesperson with a small book (SMALL_BOOK customers, the
    usual case in a company with a million customers) for the details."""
    from django.db import transaction

    from guanxi.customers.demo import DEMO_PASSWORD
    from guanxi.customers.models import Customer
    from guanxi.org import services as org_services
    from guanxi.org.models import Department, User

    small = User.objects.filter(username="bench_small").first()
    if small is None:
        with transaction.atomic():
            small = org_services.user_create(
                actor=None,
                username="bench_small",
                password=DEMO_PASSWORD,
                name="小册",
                department=Department.objects.get(name="北京分公司"),
                roles=["salesperson"],
                check_password=False,
            )
            step = max(1, Customer.objects.count() // SMALL_BOOK)
            ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::step])
            Customer.objects.filter(pk__in=ids[:SMALL_BOOK]).update(owner=small)
    return {
        "salesperson": User.objects.get(username="zhangwei"),
        "all_scope": User.objects.get(username="zhaoguohua"),
        "small_book": small,
    }


# --- the report --------------------------------------------------------------------------------
def _met(entry: dict[str, Any], lower_is_better: dict[str, bool]) -> str:
    value, target = entry.get("value"), entry.get("target")
    if value is None or target is None:
        return "—"
    lower = lower_is_better.get(entry["metric"], True)
    return "yes" if (value <= target if lower else value >= target) else "**no**"


def write_results(results: list[dict[str, Any]], *, meta: dict[str, Any]) -> tuple[Path, Path]:
    from guanxi.customers.search.bench.metrics import METRICS

    lower = {m.name: m.lower_is_better for m in METRICS}
    folder = bench_dir()
    measured = [
        {key: entry.get(key) for key in ("metric", "value", "unit", "db", "target")}
        | {k: v for k, v in entry.items() if k not in {"metric", "value", "unit", "db", "target"}}
        | {"measured": meta["when"], "load": meta.get("load", "")}
        for entry in results
        if "metric" in entry
    ]
    json_path = folder / "results.json"
    # A run of some databases or metrics replaces those rows and keeps the others.
    contract = [e for e in _previous(json_path) if _key(e) not in {_key(m) for m in measured}]
    contract = sorted(contract + measured, key=lambda e: (_order(e), str(e.get("db"))))
    json_path.write_text(json.dumps(contract, ensure_ascii=False, indent=1, default=str))
    lines = [
        "# Benchmark results",
        "",
        f"Last run {meta['when']}: {meta['customers']:,} customers"
        f"{' (--quick)' if meta['quick'] else ''} · {meta['machine']} · medians of"
        f" {meta['repeat']} rounds · load average {meta.get('load', '?')}.",
        "",
        "Search and list figures in milliseconds, p50 and p95; details per user (salesperson:"
        " data scope self, ~9% of the archive; all_scope; small_book: a salesperson with 500"
        " customers) and query length (1, 2, 3+ characters). Targets are for a 2-core machine;"
        " other work on the machine (its load average) slows every figure.",
        "",
        "| metric | db | value | unit | target | met | archive | measured | notes |",
        "|---|---|---:|---|---:|:---:|---:|---|---|",
    ]
    for entry in contract:
        value = entry["value"]
        shown = "—" if value is None else f"{value:,}" if isinstance(value, int | float) else value
        archive = entry.get("scale")
        archive = f"{archive:,}" if isinstance(archive, int) else (archive or "")
        note = entry.get("note", "")
        detail = entry.get("detail") or {}
        cells = "; ".join(
            f"{k}: {_short(v)}" for k, v in detail.items() if k not in {"queries", "runs"}
        )
        lines.append(
            f"| {entry['metric']} | {entry['db']} | {shown} | {entry['unit']} | "
            f"{entry['target'] if entry['target'] is not None else '—'} | {_met(entry, lower)} | "
            f"{archive} | {entry.get('measured', '')} (load {entry.get('load', '?')}) | "
            f"{' '.join(x for x in (note, cells) if x)} |"
        )
    errors = [entry["error"] for entry in results if "error" in entry]
    if errors:
        lines += ["", "Errors:", *[f"- {e}" for e in errors]]
    md_path = folder / "results.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def _previous(path: Path) -> list[dict[str, Any]]:
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [e for e in previous if isinstance(e, dict) and "metric" in e]


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry.get("metric"), entry.get("db"), entry.get("scale"))


def _order(entry: dict[str, Any]) -> int:
    from guanxi.customers.search.bench.metrics import METRICS

    names = list(dict.fromkeys(m.name for m in METRICS))
    return names.index(entry["metric"]) if entry.get("metric") in names else len(names)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k.removesuffix('_ms')} {v}" for k, v in value.items())
    return str(value)
