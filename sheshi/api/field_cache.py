"""ModelSerializer fields built once per class instead of once per instance.

DRF builds a ModelSerializer's fields for every instance it makes, introspecting the model field by
field (field_mapping.get_field_kwargs, validators, choices): for the journal entry's output — an
entry and a nested serializer per response — that was an eighth of a single posting's CPU
(bench.ledger.api's profile). The built fields depend only on the class (Meta and the declared
fields), so they are built once and each instance gets a deep copy — what DRF itself does with a
plain Serializer's declared fields. Not for a serializer whose get_fields depends on the instance
(its context or request).

The copies are shallow where that is the same thing: DRF deep-copies a field by calling its
``__init__`` again with its own arguments (``Field.__deepcopy__``), which for an unbound leaf
field — no child field, no queryset, not a serializer — makes an object equal to a shallow copy
(validators are shared by DRF's own deep copy too). Fields with a child, a queryset or nested
serializers are still deep-copied."""
from __future__ import annotations

import copy

from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.serializers import BaseSerializer


def _leaf(field) -> bool:
    if isinstance(field, BaseSerializer | ManyRelatedField) or hasattr(field, "child"):
        return False
    return not isinstance(field, RelatedField) or field.queryset is None


def fields_copy(fields: dict) -> dict:
    """What ``copy.deepcopy(fields)`` gives for unbound fields, without re-initialising leaves."""
    if any(getattr(f, "parent", None) is not None for f in fields.values()):
        return copy.deepcopy(fields)  # bound fields: not the case this is for
    return {name: copy.copy(f) if _leaf(f) else copy.deepcopy(f) for name, f in fields.items()}


class DeclaredFieldsCopyMixin:
    """For a plain Serializer: its declared fields copied as above instead of deep-copied."""

    def get_fields(self):
        return fields_copy(self._declared_fields)


class ClassBuiltFieldsMixin:
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_class_built_fields")
        if built is None:
            built = super().get_fields()
            cls._class_built_fields = built
        return fields_copy(built)
