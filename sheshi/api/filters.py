"""The ``ordering`` query parameter and the filters, the same on every list endpoint.

A view lists the fields a client may order by in ``ordering_fields``; ``id`` is always allowed
and is the default (``default_ordering`` overrides it). Cursor pagination (sheshi/api/pagination.py)
keeps the order stable by breaking ties on the primary key.
"""
import django_filters
import django_filters.rest_framework
from drf_spectacular.drainage import get_override
from drf_spectacular.utils import OpenApiParameter
from rest_framework.filters import OrderingFilter as DrfOrderingFilter

from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import organisation_ids_for


class OrderingFilter(DrfOrderingFilter):
    """Every list is orderable, so this backend is also where a list refuses an unknown parameter."""

    ordering_param = "ordering"

    def filter_queryset(self, request, queryset, view):
        refuse_unknown_parameters(request, queryset, view)
        return super().filter_queryset(request, queryset, view)

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


# ---------------------------------------------------------------------------------------------------
# Filters named and valued the same way on every list (README "API conventions"):
#   * a filter named after a related object that has a code takes its code — the value request bodies
#     and reports take (entity=DE01, period=2026-03, account=4000, organisation=ACME, group=G1,
#     fiscal_year=FY2026, source_system=SAP) — and ``<name>_id`` takes its id;
#   * a related object without a code (a run, an import batch, an entity period, a template) is
#     filtered by id under its name; a user by username (owner, assignee);
#   * no Django lookup syntax (``__``) in a parameter name: a range is ``<field>_from`` / ``<field>_to``.
# Checked over the OpenAPI schema by tests/security/test_api_conventions.py.
CODE_FIELD = "code"
USERNAME_FIELD = "username"


def _natural_key(model) -> str | None:
    """The field a client names an object of ``model`` by, or None (then: its id)."""
    from django.contrib.auth import get_user_model

    if model is get_user_model():
        return USERNAME_FIELD
    names = {f.name for f in model._meta.get_fields()}
    return CODE_FIELD if CODE_FIELD in names else None


class FilterSet(django_filters.rest_framework.FilterSet):
    """The base of every list's filters (also for ``filterset_fields``, through FilterBackend):
    relations are filtered by code (+ ``<name>_id``), username, or id, as above; a declared filter
    on ``<relation>__code`` gets its ``<name>_id`` twin the same way."""

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        model = cls._meta.model
        for name, flt in list(filters.items()):
            if name in cls.declared_filters or flt.lookup_expr != "exact" or "__" in flt.field_name:
                continue
            field = model._meta.get_field(flt.field_name)
            if not (field.is_relation and field.many_to_one):
                continue
            related = field.related_model
            key = _natural_key(related)
            if key is not None:
                filters[name] = django_filters.CharFilter(field_name=f"{flt.field_name}__{key}", help_text=(
                    "username" if key == USERNAME_FIELD else f"{related._meta.verbose_name} code"))
            else:
                filters[name] = django_filters.NumberFilter(field_name=flt.field_name,
                                                            help_text=f"{related._meta.verbose_name} id")
        for name, flt in list(filters.items()):
            if name.endswith("__gte") or name.endswith("__lte"):  # a range: <field>_from / <field>_to
                filters[name[:-5] + ("_from" if name.endswith("__gte") else "_to")] = filters.pop(name)
            elif flt.field_name.endswith("__" + CODE_FIELD) and flt.lookup_expr == "exact" \
                    and f"{name}_id" not in filters:
                path = flt.field_name.removesuffix("__" + CODE_FIELD)
                filters[f"{name}_id"] = django_filters.NumberFilter(
                    field_name=f"{path}__id", help_text=f"{name.replace('_', ' ')} id (instead of its code)")
        return filters


# Parameters every list takes besides its filters: ordering, the cursor pagination's, DRF's format.
COMMON_LIST_PARAMETERS = frozenset({"ordering", "cursor", "page_size", "format"})


_DOCUMENTED: dict[tuple, frozenset[str]] = {}


def _documented_query_parameters(view, request) -> frozenset[str]:
    """The query parameters a view's handler declares with ``@extend_schema(parameters=...)``, read
    from the same schema inspectors that write the OpenAPI document (cached per view and handler)."""
    name = getattr(view, "action", None) or request.method.lower()
    key = (type(view), name, request.method)
    if key not in _DOCUMENTED:
        handler = getattr(view, name, None)
        # extend_schema keeps a handler's schema as an override, or (APIView methods) in its kwargs.
        override = (get_override(handler, "schema", None) or (getattr(handler, "kwargs", None) or {}).get("schema")
                    ) if handler is not None else None
        inspectors = [override()] if override is not None else []
        if getattr(view, "schema", None) is not None:
            inspectors.append(view.schema)
        names = set()
        for inspector in inspectors:
            inspector.view, inspector.method = view, request.method.upper()
            names |= {p.name for p in inspector.get_override_parameters()
                      if isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.QUERY}
        _DOCUMENTED[key] = frozenset(names)
    return _DOCUMENTED[key]


class FilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    filterset_base = FilterSet


def _is_list(view) -> bool:
    action = getattr(view, "action", None)
    if action is not None:
        return action == "list"
    return (view.lookup_url_kwarg or view.lookup_field) not in view.kwargs


def refuse_unknown_parameters(request, queryset, view) -> None:
    """A list refuses a query parameter it does not take: a misspelt or renamed filter would
    otherwise be dropped silently and the client would read an unfiltered list as a filtered one.
    What a list takes: its filters, the common list parameters and what its handler documents."""
    if request.method != "GET" or not _is_list(view):
        return
    known = COMMON_LIST_PARAMETERS | _documented_query_parameters(view, request)
    for backend in getattr(view, "filter_backends", ()):
        if issubclass(backend, django_filters.rest_framework.DjangoFilterBackend):
            filterset_class = backend().get_filterset_class(view, queryset)
            known |= set(filterset_class.base_filters if filterset_class else ())
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationFailed("Unknown query parameter.", errors=[FieldError(
            name, f"This list does not take {name!r}; it takes: {', '.join(sorted(known))}.",
            code="unknown_parameter") for name in unknown])


ORGANISATION_PARAMETERS = [
    OpenApiParameter("organisation", str, description="Organisation code (or organisation_id: one of the two)."),
    OpenApiParameter("organisation_id", int, description="Organisation id (instead of its code)."),
]


def organisation_id_from_query(request) -> int:
    """The organisation a request names by ``organisation`` (code) or ``organisation_id``: one of
    the caller's, else 404 (another organisation is not in the caller's view); neither is 400."""
    q = request.query_params
    code, raw_id = q.get("organisation") or "", q.get("organisation_id") or ""
    if not code and not raw_id:
        raise ValidationFailed("Missing parameters.", errors=[FieldError(
            "organisation", "Required: the organisation's code (or organisation_id).", code="required")])
    mine = organisation_ids_for(request.user)
    if raw_id:
        org_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 19 else None
    else:
        org_id = Organisation.objects.filter(pk__in=mine, code=code).values_list("pk", flat=True).first()
    if org_id is None or org_id not in mine:
        raise NotFound("Unknown organisation.")
    return org_id
