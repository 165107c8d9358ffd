"""Model validation for large batches (the import): Model.full_clean's field checks, with
the fields whose check is known to pass left out.

full_clean runs every field's clean(): to_python, validate (choices, null, blank) and its
validators. For a plain text field (CharField or TextField itself, no choices, no
validator but the max-length one) holding a non-empty str, all of that amounts to
len(value) <= max_length; the batch paths check that here and hand full_clean only the
other fields. Any other field, or a value that is no str or too long, still goes through
full_clean, which gives the message."""

from __future__ import annotations

import functools
from typing import Any

from django.core.validators import MaxLengthValidator
from django.db import models

_PLAIN = (models.CharField, models.TextField)


@functools.cache
def _plain_text_fields(model: type[models.Model]) -> tuple[tuple[str, str, int | None], ...]:
    """(name, attname, max length or None) of the model's plain text fields."""
    found = []
    for field in model._meta.concrete_fields:
        if type(field) not in _PLAIN or field.choices or not field.editable:
            continue
        validators = [v for v in field.validators if type(v) is MaxLengthValidator]
        if len(validators) != len(field.validators) or any(
            callable(v.limit_value) for v in validators
        ):
            continue
        limits = [v.limit_value for v in validators]
        found.append((field.name, field.attname, min(limits) if limits else None))
    return tuple(found)


def full_clean_fast(instance: models.Model, *, exclude: list[str], **options: Any) -> None:
    """instance.full_clean(exclude=…, **options), skipping the plain text fields whose
    value passes (see the module's docstring); raises the same ValidationError."""
    values = instance.__dict__
    passed = [
        name
        for name, attname, limit in _plain_text_fields(type(instance))
        if (value := values.get(attname)).__class__ is str
        and value
        and (limit is None or len(value) <= limit)
    ]
    instance.full_clean(exclude=[*exclude, *passed], **options)
