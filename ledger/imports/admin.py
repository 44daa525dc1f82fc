"""Imports in the admin: batches (read-only: status, progress, problems, the stored original and
its journal entries), source systems (mappings validated like the API's), and an upload page
(the batch list's "add" button) that calls the same service as the API.

Registered from ledger/admin.py (Django discovers only the app's own admin module). Every queryset
and choice list goes through sheshi.tenancy.scoping.
"""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from audit.services.events import audit_read
from ledger.imports.errors import SourceFileMissingError
from ledger.imports.mapping import ColumnMapping
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.imports.services import import_batch_upload, inline_max_bytes, source_file_open, source_system_create
from periods.models import Period
from sheshi.access.roles import PREPARE, VIEW
from sheshi.admin_writes import ServiceAdmin
from sheshi.errors import SheshiError
from sheshi.tenancy.scoping import entities_for, entity_ids_for, organisation_ids_for, organisations_for

UPLOAD_TEMPLATE = engines["django"].from_string("""{% extends "admin/base_site.html" %}
{% block content %}
<p>The file is validated whole before anything is written; a rejected file keeps its problems on its batch.
Files over {{ inline_max|filesizeformat }} run as a background job: follow the batch's status and progress.</p>
<form method="post" enctype="multipart/form-data">{% csrf_token %}
{% if form.non_field_errors %}{{ form.non_field_errors }}{% endif %}
<table>{{ form.as_table }}</table>
<div class="submit-row"><input type="submit" class="default" value="Upload and import"></div>
</form>
{% endblock %}""")


class UploadForm(forms.Form):
    entity = forms.ModelChoiceField(queryset=None)
    period = forms.ModelChoiceField(queryset=None)
    source_system = forms.ModelChoiceField(queryset=None, help_text="Its saved column mapping is used.")
    file = forms.FileField(help_text="CSV or XLSX: a trial balance or general-ledger detail.")
    supersedes = forms.ModelChoiceField(queryset=None, required=False,
                                        help_text="A posted batch this file corrects: it is reversed, never deleted.")
    duplicate_rows_reason = forms.CharField(
        required=False, max_length=500, label="Import the same rows again because",
        help_text="Only when this file's rows equal those of an imported batch (e.g. the same export saved "
                  "again): why they must be imported a second time. Recorded on the batch and in the audit log.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        orgs = organisation_ids_for(user)
        self.fields["entity"].queryset = entities_for(user, PREPARE).order_by("code")
        self.fields["period"].queryset = Period.objects.filter(organisation_id__in=orgs).order_by(
            "organisation_id", "start_date", "number")
        self.fields["source_system"].queryset = SourceSystem.objects.filter(organisation_id__in=orgs)
        self.fields["supersedes"].queryset = ImportBatch.objects.filter(
            entity_id__in=entity_ids_for(user, PREPARE), status=ImportStatus.POSTED)

    def clean(self):
        data = super().clean()
        entity = data.get("entity")
        for name in ("period", "source_system", "supersedes"):
            obj = data.get(name)
            if entity is not None and obj is not None and obj.organisation_id != entity.organisation_id:
                self.add_error(name, "This belongs to another organisation than the entity.")
        if entity is not None and data.get("supersedes") and data["supersedes"].entity_id != entity.pk:
            self.add_error("supersedes", "This batch belongs to another entity.")
        return data


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    writes_through = "ledger.imports.services.import_batch_upload"  # the "add" page (add_view)
    list_display = ["id", "entity", "period", "file_name", "kind", "status", "progress", "entry_count", "line_count",
                    "debit_total", "credit_total", "error_count", "created_by", "created_at"]
    list_filter = ["status", "kind"]  # no entity filter: its choices would list every organisation's entities
    search_fields = ["file_name", "sha256"]
    list_select_related = ["entity", "period", "created_by"]
    fields = ["entity", "period", "source_system", "kind", "status", "progress", "file_name", "stored_file", "sha256",
              "rows_sha256", "duplicate_rows_reason", "size", "row_count", "entry_count", "line_count", "debit_total",
              "credit_total", "journal_entries", "error_count", "problems", "mapping_json", "supersedes", "created_by",
              "created_at", "started_at", "finished_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user, VIEW))

    def has_add_permission(self, request):
        # The "add" button is the upload page; the service still checks 'prepare_entries' per entity.
        return self.has_view_permission(request) and entities_for(request.user, PREPARE).exists()

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress(self, obj):
        if obj.status in (ImportStatus.PENDING, ImportStatus.RUNNING):
            return f"{obj.rows_done:,} rows done"
        return f"{obj.rows_done:,} / {obj.row_count:,} rows"

    @admin.display(description="stored file")
    def stored_file(self, obj):
        url = reverse("admin:ledger_importbatch_file", args=[obj.pk])
        return format_html('<a href="{}">{}</a> ({} bytes)', url, obj.file_name, obj.size)

    @admin.display(description="journal entries")
    def journal_entries(self, obj):
        if not obj.entry_count:
            return "—"
        url = reverse("admin:ledger_journalentry_changelist") + f"?import_batch_id={obj.pk}"
        return format_html('<a href="{}">{} entries, {} lines</a>', url, obj.entry_count, obj.line_count)

    @admin.display(description="problems")
    def problems(self, obj):
        if not obj.errors:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (e.get("row", ""), e.get("field", ""), e.get("value", ""), e.get("message", "")) for e in obj.errors))
        more = f" (first {len(obj.errors):,} of {obj.error_count:,})" if obj.error_count > len(obj.errors) else ""
        return format_html("<table><tr><th>row</th><th>column</th><th>value</th><th>reason{}</th></tr>{}</table>",
                           more, rows)

    @admin.display(description="mapping used")
    def mapping_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.mapping, indent=2, ensure_ascii=False))

    def get_urls(self):
        return [path("<int:pk>/file/", self.admin_site.admin_view(self.file_view), name="ledger_importbatch_file"),
                *super().get_urls()]

    def file_view(self, request, pk):
        batch = self.get_queryset(request).filter(pk=pk).first()
        if batch is None or not self.has_view_permission(request, batch):
            raise Http404
        audit_read(request, organisation_id=batch.organisation_id, object_type="ledger.importbatch",
                   object_id=batch.pk, action="import_batch.file_read")
        try:
            stream = source_file_open(batch)
        except SourceFileMissingError as exc:  # a message on the batch's page, never a 500
            messages.error(request, exc.detail)
            return HttpResponseRedirect(reverse("admin:ledger_importbatch_change", args=[batch.pk]))
        return FileResponse(stream, as_attachment=True, filename=batch.file_name,
                            content_type="application/octet-stream")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                result = import_batch_upload(
                    actor=request.user, entity=d["entity"], period=d["period"], stream=d["file"],
                    filename=d["file"].name, mapping=ColumnMapping.from_dict(d["source_system"].mapping),
                    source_system=d["source_system"], supersedes=d["supersedes"],
                    duplicate_rows_reason=d.get("duplicate_rows_reason", ""))
            except SheshiError as exc:
                form.add_error(None, exc.detail)
                for err in exc.errors[:20]:
                    form.add_error(None, f"{err.field}: {err.message}")
            else:
                batch = result.batch
                level = messages.SUCCESS if batch.status == ImportStatus.POSTED or result.queued else messages.ERROR
                what = "queued as a background job" if result.queued else batch.get_status_display().lower()
                self.message_user(request, f"Import {batch.pk} ({batch.file_name}): {what}.", level)
                return HttpResponseRedirect(reverse("admin:ledger_importbatch_change", args=[batch.pk]))
        context = {**self.admin_site.each_context(request), "title": "Upload a file to import", "form": form,
                   "opts": self.model._meta, "inline_max": inline_max_bytes()}
        return TemplateResponse(request, UPLOAD_TEMPLATE, context)


class SourceSystemForm(forms.ModelForm):
    kind = forms.CharField(required=False, disabled=True, help_text="Taken from the mapping.")
    mapping = forms.JSONField(help_text="A column mapping: kind, account, amount or debit/credit, date, …")

    class Meta:
        model = SourceSystem
        fields = ["organisation", "code", "name", "kind", "mapping"]

    def clean_mapping(self):
        raw = self.cleaned_data["mapping"]
        try:
            mapping = ColumnMapping.from_dict(raw) if isinstance(raw, dict) else None
        except (ValueError, TypeError, KeyError) as exc:
            raise forms.ValidationError(f"Not a column mapping: {exc}") from exc
        if mapping is None:
            raise forms.ValidationError("A JSON object is expected.")
        problems = mapping.problems()
        if problems:
            raise forms.ValidationError(problems)
        return mapping.as_dict()

    def clean(self):
        data = super().clean()
        if data.get("mapping"):
            data["kind"] = data["mapping"]["kind"]  # before the model's checks: the unique rule includes kind
        return data


@admin.register(SourceSystem)
class SourceSystemAdmin(ServiceAdmin, admin.ModelAdmin):
    """New source systems through source_system_create; saved ones are read-only (no service
    changes one: batches keep pointing at the mapping they used)."""

    writes_through = "ledger.imports.services.source_system_create"
    form = SourceSystemForm
    list_display = ["code", "name", "kind", "organisation", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organisation_id__in=organisation_ids_for(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = organisations_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # batches keep pointing at the source system they used

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        saved = self.call_service(source_system_create, actor=request.user, organisation_id=d["organisation"].pk,
                                  code=d["code"], name=d["name"], mapping=ColumnMapping.from_dict(d["mapping"]))
        obj.pk, obj.kind, obj.created_at, obj.updated_at = saved.pk, saved.kind, saved.created_at, saved.updated_at
        obj._state.adding = False
