"""A production server for the benchmark (gunicorn, 2 sync workers, 127.0.0.1, a free port)
and a small load client: a bounded loop of GET requests from a few threads, each request on
its own connection as gunicorn's sync workers close them."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(*, workers: int = 2, env: dict[str, str] | None = None) -> Iterator[int]:
    """Start gunicorn on a free port, wait until it answers, stop it afterwards."""
    port = free_port()
    environment = {**os.environ, **(env or {})}
    environment["DJANGO_SETTINGS_MODULE"] = "guanxi.customers.search.bench.settings"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "guanxi.customers.search.bench.wsgi:application",
            "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning", "--timeout", "120",
        ],
        env=environment,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                status, _size = fetch(port, "/bench/floor/", cookie="")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def fetch(port: int, path: str, *, cookie: str) -> tuple[int, int]:
    """One GET on a new connection: (status, body bytes)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    raw = b"".join(chunks)
    head, _sep, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, len(body)


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    errors: int
    body_bytes: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(port: int, path: str, *, cookie: str, seconds: float, threads: int = 4) -> Load:
    """As many requests as `threads` clients complete in about `seconds` (bounded)."""
    done, errors, size = [0] * threads, [0] * threads, [0] * threads
    stop = time.monotonic() + seconds

    def client(slot: int) -> None:
        while time.monotonic() < stop:
            try:
                status, length = fetch(port, path, cookie=cookie)
            except OSError:
                errors[slot] += 1
                continue
            if status != 200:
                errors[slot] += 1
            done[slot] += 1
            size[slot] = length

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return Load(sum(done), elapsed, sum(errors), max(size))
