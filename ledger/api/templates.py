"""Journal templates over the API (issue 16): list and read them, save an entry's lines as one
(journal_template_create), start a new draft from one (journal_entry_create_from_template)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.api.serializers import JournalEntryOutput
from ledger.models import JournalEntry, JournalTemplate
from ledger.services.templates import journal_entry_create_from_template, journal_template_create
from sheshi.api.conditional import ConditionalWriteMixin
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sheshi.api.viewsets import EntityScopedMixin
from sheshi.errors import NotFound
from sheshi.tenancy.scoping import entity_ids_for


class JournalTemplateOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = JournalTemplate
        fields = ["id", "entity", "name", "description", "reference", "lines", "source_entry_id", "created_by",
                  "created_at"]


class JournalTemplateCreateInput(serializers.Serializer):
    entry = serializers.IntegerField(min_value=1, help_text="The entry whose lines become the template.")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class JournalTemplateUseInput(serializers.Serializer):
    entry_date = serializers.DateField()
    description = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                        help_text="Default: the template's description.")


class JournalTemplateViewSet(ConditionalWriteMixin, EntityScopedMixin, viewsets.GenericViewSet,
                             mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Templates of the entities the caller may view; saved and used by those who prepare entries."""

    queryset = JournalTemplate.objects.select_related("entity", "created_by")
    serializer_class = JournalTemplateOutput
    filterset_fields = ["entity", "name"]

    @extend_schema(request=JournalTemplateCreateInput, responses={201: JournalTemplateOutput},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @idempotent
    def create(self, request):
        data = JournalTemplateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry_id = data.validated_data["entry"]
        if not JournalEntry.objects.filter(pk=entry_id, entity_id__in=entity_ids_for(request.user)).exists():
            raise NotFound(f"Journal entry {entry_id} not found.")
        template = journal_template_create(actor=request.user, entry_id=entry_id, name=data.validated_data["name"],
                                           description=data.validated_data.get("description", ""))
        return Response(JournalTemplateOutput(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=JournalTemplateUseInput, responses={201: JournalEntryOutput},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @action(detail=True, methods=["post"], url_path="new-entry")
    @idempotent
    def new_entry(self, request, pk=None):
        """A new draft with the template's lines, checked as any new entry."""
        template = self.get_object()  # 404 outside the caller's view; 412 on a stale If-Match
        data = JournalTemplateUseInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = journal_entry_create_from_template(actor=request.user, template_id=template.pk,
                                                   entry_date=data.validated_data["entry_date"],
                                                   description=data.validated_data.get("description", ""))
        fresh = JournalEntry.objects.select_related("entity", "period", "created_by").prefetch_related(
            "lines__account", "lines__counterparty").get(pk=entry.pk)
        return Response(JournalEntryOutput(fresh).data, status=status.HTTP_201_CREATED)
