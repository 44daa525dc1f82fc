"""Import API: upload a file, follow its batch, download the original, save mappings, and drill
down from a trial-balance figure to the source rows. Parse → one service call → output.

    POST /api/v1/import-batches/              multipart: file, entity, period, source_system | mapping,
                                              supersedes → 201 (ran here) or 202 (queued job)
    GET  /api/v1/import-batches/[?status=&entity=&period=]   GET /api/v1/import-batches/{id}/
    GET  /api/v1/import-batches/{id}/file/    the stored original, byte for byte
    GET|POST /api/v1/source-systems/          saved column mappings per organisation
    GET  /api/v1/reports/trial-balance/lines/?entity=&period=&account=[&period_from=&currency=&after=&limit=]
"""
from __future__ import annotations

import json
from dataclasses import asdict

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from audit.services.events import audit_read
from ledger.api.views import MAX_OFFSET, ReportView, _entity_for, int_param
from ledger.imports import selectors, services
from ledger.imports.errors import (
    DuplicateRowsError,
    ImportPostingFailedError,
    ImportValidationError,
    SourceFileMissingError,
)
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.models import Account
from periods.models import Period
from sheshi.api.idempotency import idempotent
from sheshi.api.viewsets import EntityScopedMixin, OrgScopedMixin
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES
from sheshi.tenancy.scoping import organisation_ids_for


def money(**kw):
    return serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


class ImportProblemOutput(serializers.Serializer):
    field = serializers.CharField(help_text="The column (or 'file', 'period', 'mapping').")
    message = serializers.CharField(help_text="The reason.")
    code = serializers.CharField()
    row = serializers.IntegerField(required=False, help_text="1-based row of the file, header included.")
    value = serializers.CharField(required=False)


class ImportBatchOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    errors = ImportProblemOutput(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    journal_entries_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = ["id", "url", "entity", "period", "source_system", "kind", "status", "file_name", "sha256",
                  "rows_sha256", "duplicate_rows_reason", "size",
                  "file_url", "row_count", "rows_done", "entry_count", "line_count", "debit_total", "credit_total",
                  "error_count", "errors", "mapping", "supersedes", "journal_entries_url", "created_by", "created_at",
                  "started_at", "finished_at"]

    def get_url(self, batch) -> str:
        return reverse("import-batch-detail", args=[batch.pk])

    def get_file_url(self, batch) -> str:
        return reverse("import-batch-file", args=[batch.pk])

    def get_journal_entries_url(self, batch) -> str:
        return reverse("journal-entry-list") + f"?import_batch={batch.pk}"


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="CSV or XLSX: a trial balance or GL detail.")
    entity = serializers.CharField(max_length=32, help_text="Entity code.")
    period = serializers.CharField(max_length=16, help_text="Period code, e.g. 2026-01.")
    source_system = serializers.IntegerField(required=False, help_text="Id of a saved source system (its mapping).")
    mapping = serializers.CharField(required=False, help_text="A column mapping as JSON, instead of a source system.")
    supersedes = serializers.IntegerField(required=False, help_text="Id of the posted batch this file corrects.")
    duplicate_rows_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="Import rows equal to an active batch's anyway (refused otherwise), and record why.")


class SourceSystemOutput(serializers.ModelSerializer):
    class Meta:
        model = SourceSystem
        fields = ["id", "organisation", "code", "name", "kind", "mapping", "created_at", "updated_at"]


class SourceSystemInput(serializers.Serializer):
    organisation = serializers.IntegerField()
    code = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", max_length=32)
    name = serializers.CharField(max_length=200)
    mapping = serializers.DictField()


def parse_mapping(data: object, field: str = "mapping") -> ColumnMapping:
    """A column mapping from JSON text or a dict; every problem as a field error (400)."""
    try:
        raw = json.loads(data) if isinstance(data, str | bytes) else data
        if not isinstance(raw, dict):
            raise ValueError("a JSON object is expected")
        mapping = ColumnMapping.from_dict(raw)
    except (ValueError, TypeError, KeyError) as exc:
        kinds = ", ".join(k.value for k in ImportKind)
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValidationFailed("The column mapping is not valid.", errors=[FieldError(
            field, f"{reason} (kind is one of: {kinds})", code="mapping_invalid")]) from exc
    problems = mapping.problems()
    if problems:
        raise ValidationFailed("The column mapping is not usable.",
                               errors=[FieldError(field, p, code="mapping_invalid") for p in problems])
    return mapping


def _refusal(batch: ImportBatch) -> Exception:
    """A batch that ran here and did not post, as the problem the client sees (nothing was posted)."""
    errors = [FieldError(field=e.get("field", ""), message=e.get("message", ""), code=e.get("code", "invalid"),
                         row=e.get("row"), value=e.get("value")) for e in batch.errors]
    where = f"Batch {batch.pk} ({reverse('import-batch-detail', args=[batch.pk])})"
    shown = f" (the first {len(errors):,} are listed)" if batch.error_count > len(errors) else ""
    if errors and all(e.code == DuplicateRowsError.code for e in errors):
        return DuplicateRowsError(f"{errors[0].message} {where} keeps the file.", errors=errors)
    if errors and errors[0].code == SourceFileMissingError.code:
        return SourceFileMissingError(batch.file_path, batch_id=batch.pk)
    if batch.status == ImportStatus.REJECTED:
        return ImportValidationError(f"{batch.error_count:,} problem(s) found in {batch.file_name}{shown}; nothing "
                                     f"was imported. {where} keeps the file and the problems.", errors=errors)
    return ImportPostingFailedError(f"The ledger refused {batch.file_name}; nothing was posted. {where} keeps the "
                                    f"file and the reason.", errors=errors)


class ImportBatchViewSet(EntityScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Import batches of entities the caller may view; uploads need 'prepare_entries' on the entity."""

    queryset = ImportBatch.objects.select_related("entity", "period", "created_by")
    serializer_class = ImportBatchOutput
    filterset_fields = ["status", "entity", "period", "kind", "source_system"]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportUploadInput},
                   responses={201: ImportBatchOutput, 202: ImportBatchOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = ImportUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        entity = _entity_for(request.user, v["entity"])  # 404 outside the caller's view
        errors = []
        period = Period.objects.filter(organisation_id=entity.organisation_id, code=v["period"]).first()
        if period is None:
            errors.append(FieldError("period", "Unknown period code.", code="unknown_period", value=v["period"]))
        source = None
        if ("source_system" in v) == ("mapping" in v):
            errors.append(FieldError("source_system", "Give either a source system or a mapping.", code="required"))
        elif "source_system" in v:
            source = SourceSystem.objects.filter(organisation_id=entity.organisation_id, pk=v["source_system"]).first()
            if source is None:
                errors.append(FieldError("source_system", "Unknown source system.", code="unknown_source_system",
                                         value=v["source_system"]))
        supersedes = None
        if "supersedes" in v:
            supersedes = self.get_queryset().filter(pk=v["supersedes"], entity=entity).first()
            if supersedes is None:
                errors.append(FieldError("supersedes", "Unknown import batch of this entity.",
                                         code="unknown_import_batch", value=v["supersedes"]))
        if errors:
            raise ValidationFailed("The upload is not valid.", errors=errors)
        mapping = ColumnMapping.from_dict(source.mapping) if source else parse_mapping(v["mapping"])
        upload = v["file"]
        result = services.import_batch_upload(actor=request.user, entity=entity, period=period, stream=upload,
                                              filename=upload.name or "upload", mapping=mapping,
                                              source_system=source, supersedes=supersedes,
                                              duplicate_rows_reason=v.get("duplicate_rows_reason", ""))
        batch = self.get_queryset().get(pk=result.batch.pk)
        url = reverse("import-batch-detail", args=[batch.pk])
        if result.queued:
            return Response(ImportBatchOutput(batch).data, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
        if batch.status != ImportStatus.POSTED:
            raise _refusal(batch)
        return Response(ImportBatchOutput(batch).data, status=status.HTTP_201_CREATED, headers={"Location": url})

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The original file as uploaded (content-addressed by its SHA-256)."""
        batch = self.get_object()
        audit_read(request, organisation_id=batch.organisation_id, object_type="ledger.importbatch",
                   object_id=batch.pk, action="import_batch.file_read")
        response = FileResponse(services.source_file_open(batch), as_attachment=True,
                                filename=batch.file_name, content_type="application/octet-stream")
        response["X-Content-SHA256"] = batch.sha256
        return response


class SourceSystemViewSet(OrgScopedMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Source systems (saved column mappings) of the caller's organisations."""

    queryset = SourceSystem.objects.all()
    serializer_class = SourceSystemOutput
    filterset_fields = ["organisation", "code", "kind"]

    @extend_schema(request=SourceSystemInput, responses={201: SourceSystemOutput})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = SourceSystemInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["organisation"] not in organisation_ids_for(request.user):
            raise NotFound("Unknown organisation.")
        source = services.source_system_create(actor=request.user, organisation_id=v["organisation"], code=v["code"],
                                               name=v["name"], mapping=parse_mapping(v["mapping"]))
        return Response(SourceSystemOutput(source).data, status=status.HTTP_201_CREATED)


class SourceLineOutput(serializers.Serializer):
    line_id = serializers.IntegerField()
    entry_id = serializers.IntegerField()
    line_no = serializers.IntegerField()
    period = serializers.CharField()
    currency = serializers.CharField()
    amount = money()
    functional_amount = money()
    memo = serializers.CharField()
    import_batch_id = serializers.IntegerField(allow_null=True)
    file_name = serializers.CharField()
    sha256 = serializers.CharField()
    source_row = serializers.IntegerField(allow_null=True)
    source_cells = serializers.ListField(child=serializers.CharField(allow_blank=True))


class TrialBalanceLinesOutput(serializers.Serializer):
    entity = serializers.CharField()
    period = serializers.CharField()
    period_from = serializers.CharField(allow_null=True)
    account = serializers.CharField()
    currency = serializers.CharField(allow_null=True)
    functional_total = money(help_text="Sum of every line of the figure: the trial balance's net for the account.")
    line_count = serializers.IntegerField()
    next_after = serializers.IntegerField(allow_null=True, help_text="Pass as `after` for the next page.")
    lines = SourceLineOutput(many=True)


class TrialBalanceLinesView(ReportView):
    """The posted lines behind one trial-balance figure, each with its import batch, source row and
    the raw cells of that row (lines posted by hand or by reversal have no source row)."""

    @extend_schema(parameters=[
        OpenApiParameter("entity", str, required=True), OpenApiParameter("period", str, required=True),
        OpenApiParameter("account", str, required=True, description="Account code (a group account: its subtree)"),
        OpenApiParameter("period_from", str), OpenApiParameter("currency", str),
        OpenApiParameter("after", int, description="Line id to continue after"), OpenApiParameter("limit", int)],
        responses=TrialBalanceLinesOutput)
    def get(self, request):
        entity, period, period_from = self._args(request, needs=("entity", "period", "account"))
        q = request.query_params
        account = Account.objects.filter(organisation_id=entity.organisation_id, code=q["account"]).first()
        if account is None:
            raise ValidationFailed("Unknown account.", errors=[FieldError("account", "Unknown account code.",
                                                                          code="unknown_account", value=q["account"])])
        limit = int_param(q, "limit", 1000, low=1, high=10_000)
        after = int_param(q, "after", 0, low=0, high=MAX_OFFSET)
        currency = (q.get("currency") or "").upper() or None
        figure = selectors.tb_figure_get(entity_id=entity.pk, account=account, period=period,
                                         period_from=period_from, currency=currency)
        lines = selectors.tb_figure_source_rows(figure=figure, limit=limit, after_id=after)
        codes = dict(Period.objects.filter(organisation_id=entity.organisation_id).values_list("id", "code"))
        return Response(TrialBalanceLinesOutput({
            "entity": entity.code, "period": period.code, "period_from": period_from.code if period_from else None,
            "account": account.code, "currency": currency, "functional_total": figure.functional_total,
            "line_count": figure.line_count, "next_after": lines[-1].line_id if len(lines) == limit else None,
            "lines": [{**asdict(line), "period": codes[line.period_id]} for line in lines]}).data)
