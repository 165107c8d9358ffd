"""audit.record(): the one way to write the audit log. Call it inside the same transaction
as the change it describes."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, connections, models
from django.utils import timezone

from guanxi.audit.context import current
from guanxi.audit.models import AuditEvent
from guanxi.core.rows import insert_one, insert_rows, new_instance

# Values taken as they are: checked by exact class first (most values of a change log),
# which spares the isinstance chain and a call per value of a list or dict.
_SCALARS = frozenset({type(None), bool, int, float, str})


def _plain(value: Any) -> Any:
    """JSON-safe representation of a field value for the change log."""
    if value.__class__ in _SCALARS:
        return value
    if value.__class__ is list:  # a change: [old, new]
        return [v if v.__class__ in _SCALARS else _plain(v) for v in value]
    if value.__class__ is dict:  # the changes: {field: [old, new]}
        return {
            k if k.__class__ is str else str(k): v if v.__class__ in _SCALARS else _plain(v)
            for k, v in value.items()
        }
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).isoformat()  # one instant, one spelling
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [v if v.__class__ in _SCALARS else _plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): v if v.__class__ in _SCALARS else _plain(v) for k, v in value.items()}
    return str(value)


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    customer_id: int | None = None,
    note: str = "",
    object_type: str | None = None,
) -> AuditEvent:
    event = build(actor=actor, action=action, obj=obj, changes=changes,
                  customer_id=customer_id, note=note, object_type=object_type)  # fmt: skip
    return insert_one(event)  # what event.save() does, without compiling the INSERT each time


def record_many(events: list[AuditEvent]) -> None:
    """Write events made by build() at once (batch services)."""
    AuditEvent.objects.bulk_create(events, batch_size=2000)


def build(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    customer_id: int | None = None,
    note: str = "",
    object_type: str | None = None,
) -> AuditEvent:
    """The unsaved event record() would write, for record_many()."""
    return _event(_common(actor), action, obj, changes, customer_id, note, object_type)


def record_batch(
    *, actor: Any, entries: Iterable[tuple[str, models.Model, dict[str, Any] | str | None]]
) -> int:
    """record(actor=actor, action=…, obj=…, changes=…) for each (action, obj, changes) of
    a batch (the import), written at once: the same rows, with one timestamp for the
    batch (as a bulk insert stamps it), and without an AuditEvent per row: each row's
    values go straight to core.rows.insert_rows. The audit context and the actor are read
    once. `changes` may come as encode_changes() made it (worked out elsewhere, e.g. in
    a second process). Returns the number of rows written."""
    common = _common(actor)
    db = connections[connection.alias]
    at = AuditEvent._meta.get_field("at").get_db_prep_save(timezone.now(), db)
    ip = AuditEvent._meta.get_field("ip").get_db_prep_save(common["ip"], db)
    adapt = db.ops.adapt_json_value
    actor_id, actor_name, source = common["actor_id"], common["actor_name"], common["source"]
    rows = []
    for action, obj, changes in entries:
        customer_id = getattr(obj, "customer_id", None)
        if customer_id is None and obj._meta.label_lower == "customers.customer":
            customer_id = obj.pk
        rows.append((
            at, actor_id, actor_name, action, obj._meta.label_lower,
            str(obj.pk) if obj.pk is not None else "", str(obj)[:200], customer_id,
            changes if changes.__class__ is str else adapt(_plain(changes or {}), _ENCODER),
            "", ip, source,
        ))  # fmt: skip
    insert_rows(AuditEvent, list(_BATCH_COLUMNS), rows)
    return len(rows)


def encode_changes(changes: dict[str, Any]) -> str:
    """`changes` as the JSON text the log stores, for record_batch."""
    return json.dumps(_plain(changes), cls=_ENCODER)


_ENCODER = AuditEvent._meta.get_field("changes").encoder
# record_batch's row layout (a test holds it to the model's columns).
_BATCH_COLUMNS = (
    "at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
    "customer_id", "changes", "note", "ip", "source",
)  # fmt: skip


def _common(actor: Any) -> dict[str, Any]:
    """What every event of one actor in one audit context shares."""
    ctx = current()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return {
        # the id, not the record: new_instance then takes the value as it is
        "actor_id": actor.pk if authenticated else None,
        "actor_name": (actor.display_name if authenticated else "")[:150],
        "ip": ctx.ip,
        "source": ctx.source,
    }


def _event(
    common: dict[str, Any],
    action: str,
    obj: models.Model | None,
    changes: dict[str, Any] | None,
    customer_id: int | None = None,
    note: str = "",
    object_type: str | None = None,
) -> AuditEvent:
    if customer_id is None and obj is not None:
        customer_id = getattr(obj, "customer_id", None)
        if customer_id is None and obj._meta.label_lower == "customers.customer":
            customer_id = obj.pk
    return new_instance(
        AuditEvent,
        {
            **common,
            "action": action,
            "object_type": object_type or (obj._meta.label_lower if obj is not None else ""),
            "object_id": str(obj.pk) if obj is not None and obj.pk is not None else "",
            "object_repr": (str(obj) if obj is not None else "")[:200],
            "customer_id": customer_id,
            "changes": _plain(changes or {}),
            "note": note[:500],
        },
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in after
        if _plain(before.get(key)) != _plain(after.get(key))
    }
