"""Pure-Python work done ahead in a second process, on the second core.

A large import alternates two kinds of work per chunk of rows: pure Python (reading the
sheet, parsing the rows, the archive's field rules) and the database's (the writes, their
indexes and history). A thread cannot overlap them, for Python's interpreter lock: tried
and measured, it gained nothing on SQLite and nothing measurable on PostgreSQL. prefetch()
runs an iterator in a forked child process instead; the caller gets its items, in
order, at most `depth` ahead of the one it works on.

Items travel pickled. Records both processes already hold (the importer's lookups: users,
branches, regions …) travel as references: `shared` maps (model, pk) to the caller's
instance, and an item's reference to such a record arrives as that instance. Other model
instances travel whole.

The child must not touch the database through the Django connections it inherits: they
are the caller's own (the same server session, the same transaction). Every query on them
is refused (AheadQueryRefused, raised in the caller, so the mistake fails loudly), and the
child ends with os._exit, which runs no clean-up that could close them. Work that reads
what is committed (the import's duplicate check reads the archive's name blocks) may
open a connection of its own: reader(), where the caller checked reader_possible(). An
exception in the child is raised in the caller at the item where it happened: the same
exception when it can be pickled (a DomainError keeps its message), else AheadFailed;
either way with the child's traceback as its cause. Where fork is not available, or
`enabled` is False, the iterator simply runs here.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import multiprocessing
import pickle
import queue
import signal
import traceback
from collections.abc import Iterator
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.utils import load_backend
from django.utils import translation

T = TypeVar("T")

READER = "guanxi_ahead_reader"
_POLL_SECONDS = 0.5
_STOP_SECONDS = 5
_ITEM, _DONE, _FAILED = range(3)


class AheadQueryRefused(RuntimeError):
    """A query was sent from the child process (a programming error)."""


class AheadFailed(RuntimeError):
    """The child process raised; the message carries its traceback."""


def _refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise AheadQueryRefused(f"work done ahead must not query the database: {sql[:120]}")


def _key(obj: Any) -> tuple[str, Any] | None:
    if isinstance(obj, models.Model) and obj.pk is not None:
        return (obj._meta.label, obj.pk)
    return None


# The records of `shared` in the process unpickling, set by _loads for its call (a context
# variable: imports in two threads of one process each see their own).
_receiving: contextvars.ContextVar[dict[tuple[str, Any], Any]] = contextvars.ContextVar(
    "guanxi_ahead_receiving"
)


def _shared(label: str, pk: Any) -> Any:
    return _receiving.get()[(label, pk)]


class _Pickler(pickle.Pickler):
    """Pickles shared records as references. reducer_override, unlike persistent_id, is
    not called for str, int, dict, list … (most of what an item holds)."""

    def __init__(self, file: Any, shared: dict[tuple[str, Any], Any]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, models.Model):
            return NotImplemented
        key = _key(obj)
        if key is not None and key in self.shared:
            return _shared, key
        if _plainly_pickled(type(obj)):
            # What Model.__reduce__ sends, without its copies and its scan for memoryviews
            # (no field holds one): the class, then the attributes as they are, set
            # after the new instance is in pickle's memo (so cycles come back whole).
            return _new_model, (type(obj),), obj.__dict__, None, None, _set_attributes
        return NotImplemented


@functools.cache
def _plainly_pickled(model: type[models.Model]) -> bool:
    """Instances of `model` pickle as Model's own do, and none of its fields can hold a
    memoryview (which Model.__getstate__ turns into bytes)."""
    hooks = ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__")
    if any(getattr(model, hook) is not getattr(models.Model, hook) for hook in hooks):
        return False
    return not any(isinstance(f, models.BinaryField) for f in model._meta.concrete_fields)


def _new_model(model: type[models.Model]) -> models.Model:
    return model.__new__(model)


def _set_attributes(obj: models.Model, attributes: dict[str, Any]) -> None:
    obj.__dict__.update(attributes)


def _dumps(value: Any, shared: dict[tuple[str, Any], Any]) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, shared).dump(value)
    return buffer.getvalue()


def _loads(data: bytes, shared: dict[tuple[str, Any], Any]) -> Any:
    token = _receiving.set(shared)
    try:
        return pickle.loads(data)
    finally:
        _receiving.reset(token)


def _unpickled(data: bytes | None) -> BaseException | None:
    try:
        return pickle.loads(data) if data is not None else None
    except Exception:
        return None


def shared_records(*groups: Any) -> dict[tuple[str, Any], Any]:
    """(model label, pk) → instance for every model instance in `groups` (instances, or
    iterables of them)."""
    shared: dict[tuple[str, Any], Any] = {}
    for group in groups:
        for obj in [group] if isinstance(group, models.Model) else group:
            key = _key(obj)
            if key is not None:
                shared.setdefault(key, obj)
    return shared


def reader_possible() -> bool:
    """Whether a connection of the child's own (reader()) would read what the caller's
    connection reads now: the caller holds no transaction (whose writes only it sees) and
    the database is a server's or a file (not SQLite in memory)."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not connection.is_in_memory_db()  # type: ignore[attr-defined]
    return connection.vendor == "postgresql"


_in_child = False
_reader = False


def reader() -> str:
    """In the child: the alias of a connection of its own to the default database (for
    `.using()` or connections[…]), opened on first use; it reads what is committed. It is
    made here, not added to the settings' aliases (which the refusal covers)."""
    global _reader
    if not _in_child:
        raise RuntimeError("reader() is for work done ahead, in the child process")
    if not _reader:
        settings_dict = dict(connections.settings[DEFAULT_DB_ALIAS])
        backend = load_backend(settings_dict["ENGINE"])
        connections[READER] = backend.DatabaseWrapper(settings_dict, READER)
        _reader = True
    return READER


def available() -> bool:
    """fork exists here, and this process may have children (a daemonic one may not)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def prefetch(
    items: Iterator[T],
    *,
    shared: dict[tuple[str, Any], Any] | None = None,
    depth: int = 2,
    enabled: bool = True,
) -> Iterator[T]:
    """Yield the items of `items` in order, produced by a forked child process that stays
    at most `depth` items ahead. Closing the generator early stops the child."""
    if not enabled or not available():
        yield from items
        return
    shared = shared or {}
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue(maxsize=depth)
    language = translation.get_language()

    def child() -> None:
        global _in_child
        _in_child = True
        # The caller's signal handlers (a worker's graceful stop, say) are not the child's:
        # terminate() must end it.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller, which stops it
        try:
            translation.activate(language)
            with contextlib.ExitStack() as refusing:
                for alias in connections:
                    refusing.enter_context(connections[alias].execute_wrapper(_refuse))
                for item in items:
                    results.put((_ITEM, _dumps(item, shared)))
        except BaseException as exc:  # handed to the caller, raised there
            try:
                original = pickle.dumps(exc)
            except Exception:
                original = None
            results.put((_FAILED, (original, "".join(traceback.format_exception(exc)))))
        else:
            results.put((_DONE, None))
        results.close()
        results.join_thread()  # everything handed over before the process ends

    process = context.Process(target=child, name="guanxi-ahead", daemon=True)
    process.start()
    try:
        while True:
            try:
                kind, payload = results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not process.is_alive():
                    raise AheadFailed(
                        f"the helper process ended without a result (exit code {process.exitcode})"
                    ) from None
                continue
            if kind == _DONE:
                return
            if kind == _FAILED:
                original, text = payload
                error = _unpickled(original)
                if error is None:
                    raise AheadFailed(text)
                raise error from AheadFailed(text)
            yield _loads(payload, shared)
    finally:
        if process.is_alive():
            process.terminate()
            process.join(timeout=_STOP_SECONDS)
            if process.is_alive():
                process.kill()
        process.join()
        results.close()
