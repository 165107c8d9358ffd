"""Form fields that treat malformed ids as "invalid choice" instead of crashing.

Django's model choice fields pass the submitted value straight to the database; an id
such as 2**63 overflows SQLite's driver (and PostgreSQL's int8), which would be a 500.
Every form in Guanxi uses these classes (a convention test checks it).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from guanxi.core.ids import parse_id


def _uses_integer_pk(field: forms.ModelChoiceField[Any]) -> bool:
    key = field.to_field_name or "pk"
    if field.queryset is None:
        return False
    model_field = (
        field.queryset.model._meta.pk if key == "pk" else field.queryset.model._meta.get_field(key)
    )
    return isinstance(model_field, models.AutoField | models.BigAutoField | models.IntegerField)


class ModelChoiceField(forms.ModelChoiceField[Any]):
    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and _uses_integer_pk(self) and parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField[Any]):
    def _check_values(self, value: Any) -> Any:
        if _uses_integer_pk(self):
            try:
                values = frozenset(value)
            except TypeError:
                values = frozenset()
            for item in values:
                if parse_id(item) is None:
                    raise ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": item},
                    )
        return super()._check_values(value)  # type: ignore[misc]  # private, untyped in stubs


def formfield_for(db_field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """ModelForm `formfield_callback`: our safe classes for foreign keys and M2M fields."""
    if isinstance(db_field, models.ForeignKey):
        kwargs.setdefault("form_class", ModelChoiceField)
    elif isinstance(db_field, models.ManyToManyField):
        kwargs.setdefault("form_class", ModelMultipleChoiceField)
    return db_field.formfield(**kwargs)
