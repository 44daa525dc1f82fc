"""Period API shapes — no business logic here."""
from __future__ import annotations

from rest_framework import serializers

from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EntityPeriod,
    FiscalYear,
    Period,
    PeriodLockSnapshot,
    PeriodState,
    TaskStatus,
)
from periods.models.checklist import ROLE_CHOICES
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES


class FiscalYearOutput(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = FiscalYear
        fields = ["id", "organisation", "code", "start_date", "end_date"]


class PeriodOutput(serializers.ModelSerializer):
    fiscal_year = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Period
        fields = ["id", "fiscal_year", "number", "code", "start_date", "end_date", "is_adjustment"]


class SnapshotOutput(serializers.ModelSerializer):
    taken_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = PeriodLockSnapshot
        fields = ["id", "taken_at", "taken_by", "line_count", "sha256"]


class EntityPeriodOutput(serializers.ModelSerializer):
    entity_code = serializers.CharField(source="entity.code", read_only=True)
    period_code = serializers.CharField(source="period.code", read_only=True)
    fiscal_year = serializers.CharField(source="period.fiscal_year.code", read_only=True)
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EntityPeriod
        fields = ["id", "entity", "entity_code", "period", "period_code", "fiscal_year", "state", "changed_by",
                  "changed_at", "reason"]


class LockOutput(serializers.Serializer):
    entity_period = EntityPeriodOutput()
    snapshot = SnapshotOutput()


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SoftCloseInput(ReasonInput):
    force = serializers.BooleanField(default=False, help_text="Soft-close despite unposted entries, open required "
                                     "close tasks or lapsed reconciliations (listed in the 409 answer); needs a "
                                     "reason, which is recorded.")


class LockInput(ReasonInput):
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReopenInput(ReasonInput):
    to = serializers.ChoiceField(choices=[PeriodState.OPEN, PeriodState.SOFT_CLOSED], default=PeriodState.OPEN)


class MoveInput(LockInput):
    force = serializers.BooleanField(default=False, help_text="Soft-close despite open items (see soft-close).")
    entity_periods = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=5000)
    to = serializers.ChoiceField(choices=PeriodState.choices)


class FiscalYearGenerateInput(serializers.Serializer):
    organisation = serializers.IntegerField(min_value=1)
    year = serializers.IntegerField(min_value=1900, max_value=2999,
                                    help_text="The calendar year the fiscal year ends in.")
    adjustment_period = serializers.BooleanField(default=True, help_text="Add period 13 for year-end adjustments.")


class YearEndInput(serializers.Serializer):
    entity = serializers.IntegerField(min_value=1)


class YearEndReopenInput(YearEndInput):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class YearEndOutput(serializers.Serializer):
    entry_id = serializers.IntegerField()
    period = serializers.CharField()
    source = serializers.CharField()
    line_count = serializers.IntegerField()


class ChecklistTaskOutput(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ChecklistTask
        fields = ["id", "entity_period", "title", "required", "owner_role", "owner", "due_date", "status",
                  "evidence", "completed_by", "completed_at"]


class ChecklistTemplateItemOutput(serializers.ModelSerializer):
    class Meta:
        model = ChecklistTemplateItem
        fields = ["position", "title", "required", "default_owner_role", "due_offset_days"]


class ChecklistTemplateOutput(serializers.ModelSerializer):
    items = ChecklistTemplateItemOutput(many=True, read_only=True)

    class Meta:
        model = ChecklistTemplate
        fields = ["id", "organisation", "name", "is_active", "created_at", "items"]


class ChecklistTemplateItemInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    required = serializers.BooleanField(default=True)
    default_owner_role = serializers.ChoiceField(choices=ROLE_CHOICES, default="", allow_blank=True)
    due_offset_days = serializers.IntegerField(min_value=-31, max_value=366, default=0,
                                               help_text="Days after the period's last day (negative: before).")


class ChecklistTemplateCreateInput(serializers.Serializer):
    organisation = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100)
    items = ChecklistTemplateItemInput(many=True, min_length=1, max_length=200)


class ChecklistInstantiateInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)
    template = serializers.IntegerField(min_value=1)


class ChecklistAssignInput(serializers.Serializer):
    owner = serializers.CharField(max_length=150, allow_null=True,
                                  help_text="Username of a member of the organisation; null to unassign.")


class ChecklistStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(TaskStatus.choices)


class ReconciliationOutput(serializers.ModelSerializer):
    account_code = serializers.CharField(source="account.code", read_only=True)
    prepared_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    current_functional_net = serializers.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                                                      read_only=True)
    current_line_count = serializers.IntegerField(read_only=True)
    lapsed = serializers.BooleanField(read_only=True)

    class Meta:
        model = AccountReconciliation
        fields = ["id", "entity_period", "account", "account_code", "status", "pinned_functional_net",
                  "pinned_line_count", "pinned_lines_sha256", "current_functional_net", "current_line_count", "lapsed",
                  "prepared_by", "prepared_at", "reviewed_by", "reviewed_at", "note"]


class ReconciliationPrepareInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)
    account = serializers.IntegerField(min_value=1)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
