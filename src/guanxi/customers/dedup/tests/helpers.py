"""Filing customers for the dedup tests: through the real service, confirming possible
duplicates (the tests plant them on purpose)."""

from __future__ import annotations

from typing import Any

from guanxi.customers import services


def add(actor: Any, name: str, **data: Any) -> Any:
    related = {key: data.pop(key, None) for key in ("contacts", "tags", "co_owners")}
    return services.customer_create(
        actor=actor, data={"name": name, **data}, confirm_duplicate=True, **related
    )
