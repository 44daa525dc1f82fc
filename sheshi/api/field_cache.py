"""ModelSerializer fields built once per class instead of once per instance.

DRF builds a ModelSerializer's fields for every instance it makes, introspecting the model field by
field (field_mapping.get_field_kwargs, validators, choices): for the journal entry's output — an
entry and a nested serializer per response — that was an eighth of a single posting's CPU
(bench.ledger.api's profile). The built fields depend only on the class (Meta and the declared
fields), so they are built once and each instance gets a deep copy — what DRF itself does with a
plain Serializer's declared fields. Not for a serializer whose get_fields depends on the instance
(its context or request)."""
from __future__ import annotations

import copy


class ClassBuiltFieldsMixin:
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_class_built_fields")
        if built is None:
            built = super().get_fields()
            cls._class_built_fields = built
        return copy.deepcopy(built)
