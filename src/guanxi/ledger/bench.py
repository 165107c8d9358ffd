"""Benchmark functions of the ledger and credit control, called by `python -m guanxi bench`.

Each returns {"metric", "value", "unit", "db", "target", "note"}. They work on the current
database; when it holds no ledger rows, `bench_dataset` first writes the demo company
(customers.demo) and `rows` ledger rows for `customers` customers — executemany on SQLite,
COPY on PostgreSQL, then the running balances are rebuilt set-based.

- bench_credit_recompute: balances and monthly sums rebuilt from the rows, then ageing,
  timeliness and the credit level of every customer, set-based in id ranges (what the
  half-yearly re-rating and the recompute command do). Target: 1,000,000 customers with
  10,000,000 rows in ≤ 120 s on PostgreSQL.
- bench_shipments: `writers` processes, each with its own connection, record shipments
  through ledger.services.shipment_record (balance row lock, limit check, monthly sums,
  audit) for random customers with approved limits. Target ≥ 500 checked shipments/s.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import random
import threading
import time
from decimal import Decimal
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from guanxi.credit.models import CreditLimit
from guanxi.credit.services import credit_rate_all
from guanxi.customers.demo.writer import demo_users_in_database, seed_demo
from guanxi.customers.models import Customer
from guanxi.ledger import recompute
from guanxi.ledger.models import CustomerBalance, Shipment
from guanxi.org.models import User

RECOMPUTE_TARGET = 120
SHIPMENTS_TARGET = 500
# bench_shipments spreads its shipments over this many customers at most.
SHIPMENT_CUSTOMERS = 20_000
BATCH = 10_000


def _users() -> dict[str, User]:
    users = {u.username: u for u in demo_users_in_database()}
    if "admin" not in users:
        seed_demo(customers=0)
        users = {u.username: u for u in demo_users_in_database()}
    return users


def _finance() -> User:
    users = _users()
    finance = next(u for u in users.values() if "finance" in u.role_codes())
    return User.objects.get(pk=finance.pk)


def _copy_rows(table: str, columns: list[str], rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def bench_dataset(*, customers: int = 10_000, rows: int = 100_000, seed: int = 4) -> dict:
    """Make sure the database holds at least `customers` customers and `rows` ledger rows
    (60 % shipments, 40 % payments over the last 18 months)."""
    finance = _finance()
    missing = customers - Customer.objects.alive().count()
    if missing > 0:
        seed_demo(customers=missing)
    have = Shipment.objects.count()
    if have >= rows * 0.6:
        return {"customers": Customer.objects.count(), "rows": have}
    rnd = random.Random(seed)
    ids = list(Customer.objects.alive().order_by("pk").values_list("pk", flat=True)[:customers])
    today = timezone.localdate()
    now = timezone.now()
    stamp = now if connection.vendor == "postgresql" else now.isoformat()
    shipment_cols = ["customer_id", "date", "amount", "note", "created_by_id", "created_at",
                     "quantity", "cost", "order_reference", "due_date", "payment_terms_days"]  # fmt: skip
    payment_cols = ["customer_id", "date", "amount", "note", "created_by_id", "created_at",
                    "method", "reference"]  # fmt: skip
    todo_shipments, todo_payments = int(rows * 0.6), rows - int(rows * 0.6)
    while todo_shipments > 0 or todo_payments > 0:
        batch_s, batch_p = [], []
        for _ in range(min(BATCH, todo_shipments)):
            day = today - dt.timedelta(days=rnd.randint(0, 540))
            amount = Decimal(rnd.randint(1_000, 200_000))
            due = day + dt.timedelta(days=30)
            batch_s.append((rnd.choice(ids), day, amount, "", finance.pk, stamp, rnd.randint(1, 40),
                            (amount * Decimal("0.75")).quantize(Decimal("0.01")), "", due, 30))  # fmt: skip
        for _ in range(min(BATCH, todo_payments)):
            day = today - dt.timedelta(days=rnd.randint(0, 520))
            batch_p.append((rnd.choice(ids), day, Decimal(rnd.randint(1_000, 250_000)), "",
                            finance.pk, stamp, "bank_transfer", ""))  # fmt: skip
        if connection.vendor == "sqlite":
            batch_s = [tuple(_sqlite(v) for v in row) for row in batch_s]
            batch_p = [tuple(_sqlite(v) for v in row) for row in batch_p]
        with transaction.atomic():
            _copy_rows("ledger_shipment", shipment_cols, batch_s)
            _copy_rows("ledger_payment", payment_cols, batch_p)
        todo_shipments -= len(batch_s)
        todo_payments -= len(batch_p)
    recompute.rebuild_balances()
    if connection.vendor == "postgresql":
        # fresh planner statistics after the bulk load (autovacuum would catch up later)
        with connection.cursor() as cursor:
            for table in ("ledger_shipment", "ledger_payment", "ledger_customerbalance",
                          "ledger_customermonth", "customers_customer"):  # fmt: skip
                cursor.execute(f"ANALYZE {table}")
    return {"customers": Customer.objects.count(), "rows": rows}


def _sqlite(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _scale() -> str:
    customers = CustomerBalance.objects.count()
    rows = Shipment.objects.count()
    from guanxi.ledger.models import Payment

    rows += Payment.objects.count()
    return f"{customers:,} customers with ledger rows, {rows:,} ledger rows"


def bench_credit_recompute(
    *, db_label: str, customers: int = 10_000, rows: int = 100_000
) -> dict[str, Any]:
    """Rebuild balances and monthly sums, then ageing, timeliness and credit levels for
    every customer with ledger rows (seconds; lower is better)."""
    bench_dataset(customers=customers, rows=rows)  # returns at once when the rows are there
    started = time.perf_counter()
    rebuilt = recompute.rebuild_balances()
    balances_s = time.perf_counter() - started
    rated = credit_rate_all(only_due=False)
    elapsed = time.perf_counter() - started
    return {
        "metric": "credit_recompute_1m_s",
        "value": round(elapsed, 2),
        "unit": "s",
        "db": db_label,
        "target": RECOMPUTE_TARGET,
        "note": f"{_scale()}; balances and monthly sums checked in {balances_s:.1f} s (drift "
        f"{rebuilt['drift']} balances, {rebuilt['months']} months), ageing, timeliness and "
        f"levels of {rated:,} customers rated set-based in {elapsed - balances_s:.1f} s",
    }


def _ensure_balances(customer_ids: list[int]) -> None:
    """A (zero) balance row for the benchmark customers without one (set-up, not measured)."""
    have = set(
        CustomerBalance.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", flat=True
        )
    )
    CustomerBalance.objects.bulk_create(
        [CustomerBalance(customer_id=pk) for pk in customer_ids if pk not in have],
        batch_size=2000,
    )


def _ensure_limits(customer_ids: list[int], finance: User) -> None:
    """Approved limits for the benchmark customers (bulk: this is set-up, not measured)."""
    users = _users()
    gm = next(u for u in users.values() if "general_manager" in u.role_codes())
    have = set(
        CreditLimit.objects.filter(
            customer_id__in=customer_ids, status=CreditLimit.Status.APPROVED
        ).values_list("customer_id", flat=True)
    )
    balances = dict(
        CustomerBalance.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "balance"
        )
    )
    now = timezone.now()
    CreditLimit.objects.bulk_create(
        [
            CreditLimit(
                customer_id=pk,
                amount=max(Decimal(0), balances.get(pk, Decimal(0))) + Decimal("5000000"),
                reason="benchmark",
                status=CreditLimit.Status.APPROVED,
                proposed_by=finance,
                decided_by_id=gm.pk,
                decided_at=now,
                effective=CreditLimit.Effective.NOW,
                effective_from=now - dt.timedelta(seconds=1),
            )
            for pk in customer_ids
            if pk not in have
        ],
        batch_size=2000,
    )


def _record_many(
    index: int, count: int, ids: list[int], actor_id: int, today: dt.date
) -> dict[str, int]:
    """One writer: `count` shipments for random customers, each through the real service."""
    from guanxi.core.errors import CreditLimitExceeded
    from guanxi.ledger.services import shipment_record

    rnd = random.Random(index)
    actor = User.objects.get(pk=actor_id)
    counts = {"ok": 0, "refused": 0, "errors": 0}
    for _ in range(count):
        try:
            shipment_record(
                actor=actor,
                customer_id=rnd.choice(ids),
                date=today,
                amount=Decimal(rnd.randint(100, 20_000)),
                quantity=1,
            )
            counts["ok"] += 1
        except CreditLimitExceeded:
            counts["refused"] += 1
        except Exception:  # noqa: BLE001 - counted, reported in the note
            counts["errors"] += 1
    return counts


def _process_writer(index, count, ids, actor_id, today, ready, go, results) -> None:  # noqa: ANN001
    connections.close_all()  # never touch the parent's connections
    try:
        User.objects.filter(pk=actor_id).exists()  # connect before the clock starts
        ready.put(index)
        go.wait()
        results.put(_record_many(index, count, ids, actor_id, today))
    finally:
        connections.close_all()


def bench_shipments(
    *,
    db_label: str,
    writers: int = 8,
    shipments: int = 4000,
    customers: int = 2000,
    processes: bool = True,
) -> dict[str, Any]:
    """`writers` concurrent writers record `shipments` shipments with limit checks
    (shipments/s) for random customers among the first `customers` of the archive (at most
    SHIPMENT_CUSTOMERS), each with an approved limit and a ledger account (balance row) —
    as the customers of the 1 M archive, which all have ledger history, have; a customer's
    very first entry takes the locking path instead. Writers are processes, like
    application servers (threads share one interpreter lock); processes=False uses
    threads (tests on in-memory SQLite)."""
    if not Customer.objects.exists():
        bench_dataset(customers=customers, rows=0)
    finance = _finance()
    ids = list(
        Customer.objects.alive()
        .order_by("pk")
        .values_list("pk", flat=True)[: min(customers, SHIPMENT_CUSTOMERS)]
    )
    _ensure_limits(ids, finance)
    _ensure_balances(ids)
    per_writer = shipments // writers
    today = timezone.localdate()
    totals = {"ok": 0, "refused": 0, "errors": 0}
    if processes:
        ctx = mp.get_context("fork")
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        connections.close_all()
        workers = [
            ctx.Process(
                target=_process_writer,
                args=(i, per_writer, ids, finance.pk, today, ready, go, results),
            )
            for i in range(writers)
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            ready.get(timeout=120)
        started = time.perf_counter()
        go.set()
        outcomes = [results.get(timeout=3600) for _ in workers]
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()
    else:
        outcomes = []
        lock = threading.Lock()

        def run(index: int) -> None:
            try:
                counts = _record_many(index, per_writer, ids, finance.pk, today)
                with lock:
                    outcomes.append(counts)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    for counts in outcomes:
        for key in totals:
            totals[key] += counts[key]
    checked = totals["ok"] + totals["refused"]
    kind = "processes" if processes else "threads"
    return {
        "metric": "shipments_per_s",
        "value": round(checked / elapsed, 1),
        "unit": "shipments/s",
        "db": db_label,
        "target": SHIPMENTS_TARGET,
        "note": f"{writers} writer {kind}, {checked:,} checked ({totals['refused']} refused, "
        f"{totals['errors']} errors) over {len(ids):,} customers in {elapsed:.1f} s",
    }
