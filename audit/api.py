"""GET /api/v1/audit/events/?organisation=<code> — the organisation's audit trail, for auditors.

Same rule as the evidence archive (audit/evidence/api.py): another organisation is 404; a member
without the auditor permission (tenancy.audit_entity) on any of its entities is 403; an auditor
of some entities only gets the other events with their actor and changes withheld. Newest first,
cursor-paginated (the trail only grows: a cursor never skips or repeats an event). Each read is
itself recorded (``audit.read``)."""
from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from audit.models import AuditEvent
from audit.selectors.events import audit_entity_ids, audit_event_list
from audit.services.events import audit_read
from sheshi.api.filters import ORGANISATION_PARAMETERS, OrderingFilter, organisation_id_from_query
from sheshi.errors import FieldError, PermissionDenied, ValidationFailed


class AuditEventOutput(serializers.ModelSerializer):
    content_withheld = serializers.BooleanField(read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "occurred_at", "actor_id", "actor_label", "request_id", "client_addr", "action",
                  "object_type", "object_id", "changes", "content_hash", "content_withheld"]

    def to_representation(self, event):
        data = super().to_representation(event)
        if event.content_withheld:
            for key in ("actor_id", "actor_label", "request_id", "client_addr", "changes"):
                data[key] = None
        return data


class AuditEventListView(generics.ListAPIView):
    serializer_class = AuditEventOutput
    filter_backends = [OrderingFilter]  # the filters are the parameters below, applied by the selector
    default_ordering = ("-id",)  # newest first; the cursor keeps a walk stable while events arrive

    def _time(self, name: str):
        raw = self.request.query_params.get(name)
        if not raw:
            return None
        value = parse_datetime(raw)
        if value is None:
            raise ValidationFailed(f"{name} is not a date-time.", errors=[FieldError(
                name, "Use ISO 8601, e.g. 2026-03-01T00:00:00Z.", value=raw)])
        return value

    def get_queryset(self):
        q = self.request.query_params
        org_id = self.organisation_id = organisation_id_from_query(self.request)
        entity_ids, full = audit_entity_ids(self.request.user, org_id)
        if not entity_ids:
            raise PermissionDenied("You need the auditor permission (audit_entity) on an entity of this organisation.")
        return audit_event_list(organisation_id=org_id, entity_ids=entity_ids, full=full,
                                object_type=q.get("object_type"), object_id=q.get("object_id"),
                                action=q.get("action"), since=self._time("since"), until=self._time("until"))

    @extend_schema(parameters=[
        *ORGANISATION_PARAMETERS,
        OpenApiParameter("object_type", str, description="e.g. ledger.journalentry"),
        OpenApiParameter("object_id", str),
        OpenApiParameter("action", str, description="e.g. insert, update, journal.read, role.granted"),
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="occurred at or after"),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="occurred before"),
        OpenApiParameter("page_size", int)])
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        audit_read(request._request, organisation_id=self.organisation_id,
                   object_type="audit.event", action="audit.read")
        return response
