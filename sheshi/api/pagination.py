"""One pagination for every list endpoint: cursor pagination over a stable order.

A cursor names a position, not a page number, so a list that grows while a client walks it (new
journal entries, audit events) neither repeats nor skips rows. The order is the ``ordering``
query parameter where the view allows one (sheshi/api/filters.py), else the view's
``default_ordering``, else the primary key; ties are broken by the primary key.
"""
from rest_framework.pagination import CursorPagination


class StandardPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("id",)

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view))
        if ordering == list(self.ordering) and hasattr(view, "default_ordering"):
            ordering = list(view.default_ordering)
        if not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return tuple(ordering)
