"""Recurring journal entries over the API (issue 16): list and read recurrences, set one up on a
template (journal_recurrence_create), and generate an entity's drafts due in a period
(recurring_entries_generate_for_entity; safe to repeat: each recurrence drafts once per period)."""
from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.models import JournalRecurrence, JournalTemplate
from ledger.services.recurring import journal_recurrence_create, recurring_entries_generate_for_entity
from periods.models import Period
from sheshi.access.roles import PREPARE
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sheshi.api.viewsets import EntityScopedMixin
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.tenancy.scoping import entity_by_code, entity_ids_for


class JournalRecurrenceOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    start_period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    end_period = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = JournalRecurrence
        fields = ["id", "entity", "template", "frequency", "day_of_month", "start_period", "end_period", "owner",
                  "is_active", "created_at"]


class JournalRecurrenceCreateInput(serializers.Serializer):
    template = serializers.IntegerField(min_value=1)
    start_period = serializers.CharField(max_length=16, help_text="Period code, e.g. 2026-04.")
    end_period = serializers.CharField(max_length=16, required=False, allow_null=True,
                                       help_text="Last period drafted; empty: no end.")
    day_of_month = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True,
                                            help_text="Empty: the period's last day.")


class RecurringGenerateInput(serializers.Serializer):
    entity = serializers.CharField(max_length=32)
    period = serializers.CharField(max_length=16, help_text="Period code, e.g. 2026-04.")


class RecurringOutcomeOutput(serializers.Serializer):
    recurrence_id = serializers.IntegerField()
    entity = serializers.CharField()
    template = serializers.CharField()
    status = serializers.ChoiceField(choices=["generated", "already_generated", "skipped"])
    entry_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(help_text="Why nothing was drafted (skipped); empty otherwise.")


def _period_id(organisation_id: int, code: str | None, field: str) -> int | None:
    if not code:
        return None
    pk = Period.objects.filter(organisation_id=organisation_id, code=code).values_list("pk", flat=True).first()
    if pk is None:
        raise ValidationFailed("Unknown period.", errors=[FieldError(field, "No such period.", code="unknown_period",
                                                                      value=code)])
    return pk


class JournalRecurrenceViewSet(EntityScopedMixin, viewsets.GenericViewSet, mixins.ListModelMixin,
                               mixins.RetrieveModelMixin):
    """Recurrences of the entities the caller may view; set up and run by those who prepare entries."""

    queryset = JournalRecurrence.objects.select_related("entity", "start_period", "end_period", "owner")
    serializer_class = JournalRecurrenceOutput
    filterset_fields = ["entity", "template", "is_active"]

    @extend_schema(request=JournalRecurrenceCreateInput, responses={201: JournalRecurrenceOutput},
                   parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @idempotent
    def create(self, request):
        data = JournalRecurrenceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        template = JournalTemplate.objects.filter(pk=v["template"], entity_id__in=entity_ids_for(request.user)).first()
        if template is None:
            raise NotFound(f"Journal template {v['template']} not found.")
        recurrence = journal_recurrence_create(
            actor=request.user, template_id=template.pk,
            start_period_id=_period_id(template.organisation_id, v["start_period"], "start_period"),
            end_period_id=_period_id(template.organisation_id, v.get("end_period"), "end_period"),
            day_of_month=v.get("day_of_month"))
        return Response(JournalRecurrenceOutput(self.get_queryset().get(pk=recurrence.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=RecurringGenerateInput, responses={200: RecurringOutcomeOutput(many=True)})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        """The entity's drafts due in the period: generated, already generated, or skipped with the reason."""
        data = RecurringGenerateInput(data=request.data)
        data.is_valid(raise_exception=True)
        entity = entity_by_code(request.user, data.validated_data["entity"], PREPARE)
        if entity is None:
            raise NotFound(f"Entity {data.validated_data['entity']} not found.")
        period = Period.objects.get(pk=_period_id(entity.organisation_id, data.validated_data["period"], "period"))
        outcomes = recurring_entries_generate_for_entity(actor=request.user, entity=entity, period=period)
        return Response(RecurringOutcomeOutput([asdict(o) for o in outcomes], many=True).data)
