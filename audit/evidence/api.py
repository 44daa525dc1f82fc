"""GET /api/v1/audit/evidence/?organisation=<code>&period=YYYY-MM[&to=YYYY-MM] → the evidence zip.

For auditors: the archive holds the entities of the organisation on which the caller holds the
auditor permission (tenancy.audit_entity), and only those. Another organisation is 404 (it is not
in the caller's view); a member of the organisation without the permission on any entity is 403.
The archive is built into a temporary file (memory stays bounded for large ledgers) and streamed
from there; the export is recorded as ``evidence.exported`` before the response starts.
"""
from __future__ import annotations

import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from audit.evidence.archive import audit_evidence_export, evidence_scope
from audit.services.digest import signing_key
from sheshi.access.roles import AUDIT
from sheshi.api.filters import ORGANISATION_PARAMETERS, organisation_id_from_query
from sheshi.errors import FieldError, PermissionDenied, ServiceUnavailable, ValidationFailed
from sheshi.tenancy.models import Organisation
from sheshi.tenancy.scoping import entities_for


def _require_signing_key() -> None:
    """The archive's manifest is signed: without a usable key there is no evidence to give (503),
    said before any work starts rather than as a 500 halfway through."""
    from django.core.exceptions import ImproperlyConfigured


    try:
        signing_key()
    except (ImproperlyConfigured, ValueError) as exc:
        raise ServiceUnavailable("Audit evidence cannot be exported: this server has no usable audit signing key "
                                 "(SHESHI_AUDIT_SIGNING_KEY). Ask the operators to configure it.",
                                 code="audit_signing_key_missing") from exc


class AuditEvidenceView(APIView):
    extra_error_statuses = (503,)  # no signing key configured on this server

    @extend_schema(
        operation_id="audit_evidence_export",
        parameters=[*ORGANISATION_PARAMETERS,
                    OpenApiParameter("period", str, required=True, description="First period code, e.g. 2026-01"),
                    OpenApiParameter("to", str, description="Last period code (default: period)")],
        responses={(200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The evidence archive: CSV + JSON datasets and a signed manifest.json")})
    def get(self, request):
        q = request.query_params
        missing = [FieldError(k, "Required.", code="required") for k in ("organisation", "period")
                   if not q.get(k) and not (k == "organisation" and q.get("organisation_id"))]
        if missing:
            raise ValidationFailed("Missing parameters.", errors=missing)
        organisation = Organisation.objects.get(pk=organisation_id_from_query(request))
        entities = list(entities_for(request.user, AUDIT).filter(organisation_id=organisation.pk))
        if not entities:
            raise PermissionDenied("You need the auditor permission (audit_entity) on an entity of this organisation.")
        _require_signing_key()
        scope = evidence_scope(organisation=organisation, period=q["period"], to=q.get("to") or None,
                               entities=entities)
        out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
        try:
            result = audit_evidence_export(scope=scope, out=out, generated_by=(
                f"user:{request.user.get_username()} (id {request.user.pk})"))
        except BaseException:
            out.close()
            raise
        out.seek(0)
        name = f"audit-evidence-{organisation.code}-{scope.periods[0].code}-{scope.periods[-1].code}.zip"
        response = FileResponse(out, as_attachment=True, filename=name, content_type="application/zip")
        response["Evidence-Manifest-SHA256"] = result.manifest_sha256
        response["Evidence-Stored-As"] = result.stored_as
        return response
