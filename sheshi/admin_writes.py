"""The admin writes only through services (issue #20).

Every ModelAdmin of the project is one of two kinds, and tests/foundation/test_admin_writes.py
fails on any other:

- read-only (``ReadOnlyAdmin``): no add, change or delete permission, so Django never reaches its
  own ``save_model``/``delete_model``;
- service-backed (``ServiceAdmin``): ``writes_through`` names the services that its overridden
  ``save_model``/``save_related`` call. A service's refusal (a ``SheshiError``, or a named database
  rule such as ``consolidation_fx_rate_frozen``) comes back as errors on the form, never a 500.

History pages stay readable but never "Revert": simple-history's revert saves the old version
straight to the table (also for a user who may only view), around the services and into rows the
database may refuse to change.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, models
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from sheshi.errors import SheshiError, from_db_error
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import entity_ids_for, is_org_admin, organisation_ids_for


class ReadableHistoryContext(HistoricalRecordContextHelper):
    """History changes as a controller reads them: a reference that was empty shows as "—"
    (simple-history says "Deleted user (pk=None)"), one to a row that is gone as "deleted <thing>
    #<id>", and a choice by its label ("Posted", not "posted")."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, DeletedObject):
            if value.pk is None:
                return "—"
            return f"deleted {value.model._meta.verbose_name} #{value.pk}"
        field = self.model._meta.get_field(change.field)
        if field.choices and not isinstance(value, list | dict):
            return dict(field.flatchoices).get(value, value) if value not in (None, "") else "—"
        if value is None:
            return "—"
        return super().prepare_delta_change_value(change, value)


class NoRevertHistoryMixin:
    """For SimpleHistoryAdmin subclasses: history readable, never written back."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise DjangoPermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContext(self.model, historical_record)


class ActionsForRoles:
    """Admin actions listed only to people who may use them. ``action_permissions`` maps an
    action to the entity permissions (any one of them, on some entity) its service needs, or to
    ``ORG_ADMIN``; the services still check each object."""

    action_permissions: dict[str, tuple[str, ...]] = {}

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name, perms in self.action_permissions.items():
            if name in actions and not any(_holds(request.user, perm) for perm in perms):
                del actions[name]
        return actions


ORG_ADMIN = "organisation admin"


def _holds(user, perm: str) -> bool:
    if perm == ORG_ADMIN:
        return any(is_org_admin(user, org_id) for org_id in organisation_ids_for(user))
    return bool(entity_ids_for(user, perm))


class ReadOnlyAdmin:
    """Nothing is added, changed or deleted on this page."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrgScopedChoices:
    """Foreign-key choices limited to the caller's organisations (for admins and their inlines):
    the services check permissions anyway; the lists should not show other tenants' rows."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        orgs = organisation_ids_for(request.user)
        if related is Organisation:
            kwargs.setdefault("queryset", Organisation.objects.filter(id__in=orgs))
        elif any(f.name == "organisation" for f in related._meta.get_fields() if isinstance(f, models.ForeignKey)):
            kwargs.setdefault("queryset", related._default_manager.filter(organisation_id__in=orgs))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def refusal_messages(exc: Exception) -> list[tuple[str | None, str]]:
    """(field or None, sentence) pairs for a service's refusal."""
    if isinstance(exc, DatabaseError):
        mapped = from_db_error(exc)
        # The rule's title is the sentence; the database's own message names tables and ids.
        return [(None, mapped.title if mapped is not None else "The database refused the change; nothing was saved.")]
    if not exc.errors:
        return [(None, exc.detail)]
    return [(e.field, e.message) for e in exc.errors] + ([(None, exc.detail)] if exc.detail != exc.title else [])


class Refused(Exception):
    """A service refused the save: the page is shown again with these errors on the form."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        self.errors = errors
        super().__init__("; ".join(m for _, m in errors))


class ServiceAdmin(OrgScopedChoices):
    """A ModelAdmin whose saves go through the services named in ``writes_through``.

    Subclasses override ``save_model`` (and ``save_related`` for inlines) to call
    ``self.call_service``. A refusal rolls the whole save back (the admin's change view runs in one
    transaction) and the view runs once more on the same POST with the errors added to the form, so
    the page shows what was typed, the errors, and nothing was written."""

    writes_through: str | tuple[str, ...] = ()

    def call_service(self, service, /, *, where: str = "", **kwargs):
        try:
            return service(**kwargs)
        except (SheshiError, DatabaseError) as exc:
            errors = refusal_messages(exc)
            if where:
                errors = [(None, f"{where}: {message}") for _, message in errors]
            raise Refused(errors) from exc

    @staticmethod
    def formsets_written(formsets, created: dict | None = None) -> None:
        """Record on each inline formset what the services created (the admin's change message
        reads these lists; Django fills them only when it saves the formset itself)."""
        for fs in formsets:
            fs.new_objects, fs.changed_objects, fs.deleted_objects = list((created or {}).get(fs, [])), [], []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            request._sheshi_refused = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refused = getattr(request, "_sheshi_refused", None)
        if refused is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                data = super().clean()
                for field, message in refused.errors:
                    self.add_error(field if field in self.fields else None, message)
                return data

        RefusedForm.__name__ = form_class.__name__
        return RefusedForm
