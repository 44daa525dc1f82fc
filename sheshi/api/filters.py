"""The ``ordering`` query parameter, the same on every list endpoint.

A view lists the fields a client may order by in ``ordering_fields``; ``id`` is always allowed
and is the default (``default_ordering`` overrides it). Cursor pagination (sheshi/api/pagination.py)
keeps the order stable by breaking ties on the primary key.
"""
from rest_framework.filters import OrderingFilter as DrfOrderingFilter


class OrderingFilter(DrfOrderingFilter):
    ordering_param = "ordering"

    def get_valid_fields(self, queryset, view, context=None):
        fields = ["id", *getattr(view, "ordering_fields", ())]
        return [(f, f) for f in dict.fromkeys(fields)]

    def get_default_ordering(self, view):
        return tuple(getattr(view, "default_ordering", ("id",)))

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        allowed = ", ".join(f for f, _ in self.get_valid_fields(None, view))
        for p in params:
            p["description"] = f"Order by one of: {allowed} (prefix - for descending). Ties break on id."
        return params
