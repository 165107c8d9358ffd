"""Model validation for large batches (the import): Model.full_clean's field checks, with
the fields whose check is known to pass left out.

full_clean runs every field's clean(): to_python, validate (choices, null, blank) and its
validators. For a plain text field (CharField or TextField itself, no choices, no
validator but the max-length one) holding a non-empty str, all of that amounts to
len(value) <= max_length; the batch paths check that here and run the other fields'
clean() themselves, as Model.clean_fields does (an empty value of a blank field skipped,
each field's errors under its name), then the model's clean() when it has its own. A
valid value of a field with choices (or a boolean) is remembered: its clean() gives the
same result for the same value whatever the record. Any other field, or a value that is
no str or too long, goes through the field's own clean(), which gives the message."""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.expressions import DatabaseDefault

_PLAIN = (models.CharField, models.TextField)
# (field, value's class, value) → the cleaned value, for values a field with choices (or
# a boolean) accepted; bounded by the fields' choices.
_ACCEPTED: dict[tuple[Any, type, Any], Any] = {}


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


PLAIN, REMEMBER, OTHER = 0, 1, 2


@functools.cache
def _checks(model: type[models.Model]) -> tuple[tuple[Any, ...], ...]:
    """(name, attname, field, kind, max length, the empty values a blank field skips) of
    the fields clean_fields checks, in the model's order (the order of the errors): plain
    text (PLAIN, see _plain_text_fields), fields whose valid values are remembered
    (REMEMBER: choices, booleans), the rest."""
    plain = {name: limit for name, _attname, limit in _plain_text_fields(model)}
    found = []
    for f in model._meta.fields:
        if f.generated:
            continue
        kind = (
            PLAIN
            if f.name in plain
            else REMEMBER
            if f.choices or isinstance(f, models.BooleanField)
            else OTHER
        )
        empty = tuple(f.empty_values) if f.blank else ()
        found.append((f.name, f.attname, f, kind, plain.get(f.name), empty))
    return tuple(found)


@functools.cache
def _own_clean(model: type[models.Model]) -> bool:
    return model.clean is not models.Model.clean


def full_clean_fast(instance: models.Model, *, exclude: list[str], **options: Any) -> None:
    """instance.full_clean(exclude=…, validate_unique=False, validate_constraints=False):
    the same checks and the same ValidationError, faster (see the module's docstring).
    Options asking for the unique or constraint checks go to full_clean itself."""
    if options.get("validate_unique", True) or options.get("validate_constraints", True):
        instance.full_clean(exclude=exclude, **options)
        return
    model = type(instance)
    values = instance.__dict__
    skip = set(exclude)
    errors: dict[str, Any] = {}
    for name, attname, field, kind, limit, empty in _checks(model):
        if name in skip:
            continue
        value = values[attname] if attname in values else getattr(instance, attname)
        if (
            kind == PLAIN
            and value.__class__ is str
            and value
            and (limit is None or len(value) <= limit)
        ):
            continue
        if empty and value in empty:  # a blank field's empty value is not checked
            continue
        _clean_field(instance, name, attname, field, value, kind == REMEMBER, errors)
    if _own_clean(model):
        try:
            instance.clean()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _clean_field(
    instance: models.Model,
    name: str,
    attname: str,
    field: Any,
    raw: Any,
    remember: bool,
    errors: dict[str, Any],
) -> None:
    """One field as Model.clean_fields checks it (an empty value of a blank field is left
    out by the caller)."""
    if isinstance(raw, DatabaseDefault):
        return
    # the value's class too: 1, 1.0 and True are equal keys but may not clean alike
    key = (field, raw.__class__, raw) if remember and raw.__hash__ is not None else None
    if key is not None and key in _ACCEPTED:
        setattr(instance, attname, _ACCEPTED[key])
        return
    try:
        cleaned = field.clean(raw, instance)
    except ValidationError as exc:
        errors[name] = exc.error_list
        return
    setattr(instance, attname, cleaned)
    if key is not None:
        _ACCEPTED[key] = cleaned
