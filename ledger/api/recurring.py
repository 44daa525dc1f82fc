"""Recurring journal entries over the API (issue 16): list and read recurrences, set one up on a
template (journal_recurrence_create), change its day or end (PATCH, journal_recurrence_update, with
If-Match), stop it (journal_recurrence_stop), and generate an entity's drafts due in a period
(recurring_entries_generate_for_entity; safe to repeat: each recurrence drafts once per period)."""
from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.etags import journal_recurrence_etag
from ledger.models import JournalRecurrence, JournalTemplate
from ledger.services.recurring import (
    UNCHANGED,
    journal_recurrence_create,
    journal_recurrence_stop,
    journal_recurrence_update,
    recurring_entries_generate_for_entity,
)
from periods.models import Period
from sheshi.access.roles import PREPARE
from sheshi.api.conditional import ConditionalWriteMixin, if_match_parameter, if_match_tags
from sheshi.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from sheshi.api.viewsets import EntityScopedMixin
from sheshi.errors import FieldError, NotFound, PreconditionRequired, ValidationFailed
from sheshi.tenancy.scoping import entity_by_code, entity_ids_for


class JournalRecurrenceOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    start_period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    end_period = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    stopped_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = JournalRecurrence
        fields = ["id", "entity", "template", "frequency", "day_of_month", "start_period", "end_period", "owner",
                  "is_active", "created_at", "stopped_at", "stopped_by", "stop_reason"]


class JournalRecurrenceUpdateInput(serializers.Serializer):
    """A merge patch: the fields sent change, for the months not yet generated."""

    day_of_month = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True,
                                            help_text="null: the period's last day.")
    end_period = serializers.CharField(max_length=16, required=False, allow_null=True,
                                       help_text="Last period drafted (not before one already drafted); null: no end.")


class JournalRecurrenceStopInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the recurrence stops (kept with it, audited).")
    after_period = serializers.CharField(max_length=16, required=False, allow_null=True,
                                         help_text="Draft up to this period, then no more; empty: nothing more from "
                                                   "now on.")


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


class JournalRecurrenceViewSet(ConditionalWriteMixin, EntityScopedMixin, viewsets.GenericViewSet,
                               mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Recurrences of the entities the caller may view; set up, changed and run by those who prepare
    entries, stopped by those who prepare or approve them."""

    queryset = JournalRecurrence.objects.select_related("entity", "start_period", "end_period", "owner",
                                                        "stopped_by")
    serializer_class = JournalRecurrenceOutput
    filterset_fields = ["entity", "template", "is_active"]
    if_match_checked_by_service = ("partial_update", "stop")  # compared under the recurrence's row lock

    def etag_for(self, obj) -> str:
        return journal_recurrence_etag(obj)

    @extend_schema(request=JournalRecurrenceUpdateInput, responses=JournalRecurrenceOutput,
                   parameters=[if_match_parameter(required=True)])
    def partial_update(self, request, *args, **kwargs):
        """Change the day of the month or the end period (journal_recurrence_update): months already
        generated keep their drafts, so the end is never before one of them. 409 once stopped."""
        recurrence = self.get_object()  # 404 outside the caller's view
        tags = if_match_tags(request.headers.get("If-Match"))
        if not tags:
            raise PreconditionRequired("Send If-Match with the recurrence's ETag (from GET) to change it.")
        data = JournalRecurrenceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        journal_recurrence_update(
            actor=request.user, recurrence_id=recurrence.pk, if_match=tags,
            day_of_month=v.get("day_of_month", UNCHANGED),
            end_period_id=(_period_id(recurrence.organisation_id, v["end_period"], "end_period")
                           if "end_period" in v else UNCHANGED))
        fresh = self.get_queryset().get(pk=recurrence.pk)
        return Response(JournalRecurrenceOutput(fresh).data, headers={"ETag": journal_recurrence_etag(fresh)})

    @extend_schema(request=JournalRecurrenceStopInput, responses=JournalRecurrenceOutput,
                   parameters=[if_match_parameter(required=True)])
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop the recurrence with a reason (journal_recurrence_stop): after ``after_period``, or from
        now on. Drafts already generated stay. 409 when already stopped."""
        recurrence = self.get_object()  # 428 without If-Match (ConditionalWriteMixin); compared by the service
        tags = if_match_tags(request.headers.get("If-Match"))
        data = JournalRecurrenceStopInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        journal_recurrence_stop(actor=request.user, recurrence_id=recurrence.pk, reason=v["reason"],
                                after_period_id=_period_id(recurrence.organisation_id, v.get("after_period"),
                                                           "after_period"),
                                if_match=tags)
        fresh = self.get_queryset().get(pk=recurrence.pk)
        return Response(JournalRecurrenceOutput(fresh).data, headers={"ETag": journal_recurrence_etag(fresh)})

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
