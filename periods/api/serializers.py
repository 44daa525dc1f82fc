"""Period API shapes — no business logic here."""
from __future__ import annotations

from rest_framework import serializers

from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTaskComment,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EntityPeriod,
    FiscalYear,
    Period,
    PeriodLockSnapshot,
    PeriodState,
    ReconciliationEvidence,
    ReconcilingItem,
    TaskStatus,
)
from periods.models.checklist import ROLE_CHOICES
from periods.selectors.close import unexplained_difference
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


class ChecklistTaskCommentOutput(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ChecklistTaskComment
        fields = ["id", "task", "author", "body", "created_at"]


class ChecklistTaskOutput(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    completed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    signed_off_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    comments = ChecklistTaskCommentOutput(many=True, read_only=True)

    class Meta:
        model = ChecklistTask
        fields = ["id", "entity_period", "title", "required", "requires_review", "owner_role", "owner", "due_date",
                  "status", "evidence", "completed_by", "completed_at", "signed_off_by", "signed_off_at", "comments"]


class ChecklistTemplateItemOutput(serializers.ModelSerializer):
    class Meta:
        model = ChecklistTemplateItem
        fields = ["position", "title", "required", "default_owner_role", "due_offset_days", "requires_review"]


class ChecklistTemplateOutput(serializers.ModelSerializer):
    items = ChecklistTemplateItemOutput(many=True, read_only=True)

    class Meta:
        model = ChecklistTemplate
        fields = ["id", "organisation", "entity", "name", "is_active", "created_at", "items"]


class ChecklistTemplateItemInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    required = serializers.BooleanField(default=True)
    default_owner_role = serializers.ChoiceField(choices=ROLE_CHOICES, default="", allow_blank=True)
    due_offset_days = serializers.IntegerField(min_value=-31, max_value=366, default=0,
                                               help_text="Days after the period's last day (negative: before).")
    requires_review = serializers.BooleanField(default=False, help_text="A second person signs the task off.")


class ChecklistTemplateCreateInput(serializers.Serializer):
    organisation = serializers.IntegerField(min_value=1)
    entity = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                      help_text="Only this entity's checklist; omitted: every entity.")
    name = serializers.CharField(max_length=100)
    items = ChecklistTemplateItemInput(many=True, min_length=1, max_length=200)


class ChecklistInstantiateInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)
    template = serializers.IntegerField(min_value=1)


class ChecklistAssignInput(serializers.Serializer):
    owner = serializers.CharField(max_length=150, allow_null=True,
                                  help_text="Username of a member of the organisation; null to unassign.")


class ChecklistFromTemplatesInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)


class ChecklistStatusInput(serializers.Serializer):
    status = serializers.ChoiceField([c for c in TaskStatus.choices if c[0] != TaskStatus.SIGNED_OFF],
                                     help_text="A reviewer signs off with POST …/sign-off/.")


class ChecklistCommentInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


MONEY = {"max_digits": AMOUNT_DIGITS, "decimal_places": AMOUNT_PLACES}


class ReconcilingItemOutput(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ReconcilingItem
        fields = ["id", "description", "amount", "created_by", "created_at"]


class ReconciliationEvidenceOutput(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ReconciliationEvidence
        fields = ["id", "file_name", "sha256", "size", "content_type", "uploaded_by", "uploaded_at"]


class ReconciliationOutput(serializers.ModelSerializer):
    account_code = serializers.CharField(source="account.code", read_only=True)
    prepared_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    current_closing_balance = serializers.DecimalField(**MONEY, read_only=True,
                                                       help_text="GL closing balance at the period end, now.")
    current_line_count = serializers.IntegerField(read_only=True)
    items_total = serializers.DecimalField(**MONEY, read_only=True)
    unexplained_difference = serializers.SerializerMethodField()
    lapsed = serializers.BooleanField(read_only=True)
    items = ReconcilingItemOutput(many=True, read_only=True)
    evidence = ReconciliationEvidenceOutput(many=True, read_only=True)

    class Meta:
        model = AccountReconciliation
        fields = ["id", "entity_period", "account", "account_code", "status", "statement_balance",
                  "pinned_closing_balance", "pinned_line_count", "pinned_lines_sha256", "current_closing_balance",
                  "current_line_count", "items_total", "unexplained_difference", "lapsed", "prepared_by",
                  "prepared_at", "reviewed_by", "reviewed_at", "note", "items", "evidence"]

    def get_unexplained_difference(self, obj) -> str | None:
        """Current GL closing balance − statement balance − reconciling items (null before a
        statement balance is entered)."""
        left = unexplained_difference(gl_balance=obj.current_closing_balance, statement_balance=obj.statement_balance,
                                      items_total=obj.items_total)
        return None if left is None else f"{left:.{AMOUNT_PLACES}f}"


class ReconciliationRequireInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)
    accounts = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)


class ReconciliationPrepareInput(serializers.Serializer):
    entity_period = serializers.IntegerField(min_value=1)
    account = serializers.IntegerField(min_value=1)
    statement_balance = serializers.DecimalField(**MONEY, help_text="The bank statement / sub-ledger balance.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReconcilingItemInput(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    amount = serializers.DecimalField(**MONEY, help_text="Part of GL − statement it explains (positive: GL higher).")


class ReconciliationEvidenceInput(serializers.Serializer):
    file = serializers.FileField()


class CloseDashboardQuery(serializers.Serializer):
    organisation = serializers.CharField(max_length=50, required=False, help_text="organisation code (or "
                                                                                  "organisation_id: one of the two)")
    organisation_id = serializers.IntegerField(min_value=1, required=False, help_text="organisation id")
    fiscal_year = serializers.CharField(max_length=20, help_text="fiscal year code, e.g. FY2026")


class CloseDashboardCellOutput(serializers.Serializer):
    entity_period = serializers.IntegerField(source="entity_period.pk")
    period = serializers.CharField(source="entity_period.period.code")
    state = serializers.CharField(source="entity_period.state")
    unposted_entries = serializers.IntegerField(source="unposted")
    open_tasks = serializers.IntegerField()
    reconciliations_needing_attention = serializers.IntegerField(source="reconciliations")
    ic_differences = serializers.IntegerField()


class CloseDashboardRowOutput(serializers.Serializer):
    entity = serializers.IntegerField(source="entity.pk")
    entity_code = serializers.CharField(source="entity.code")
    may_close = serializers.BooleanField()
    cells = serializers.SerializerMethodField()

    def get_cells(self, row) -> list[dict]:
        return [CloseDashboardCellOutput(c).data for c in row.cells if c is not None]


class CloseDashboardOutput(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.code")
    fiscal_year = serializers.CharField(source="fiscal_year.code")
    periods = serializers.SerializerMethodField()
    rows = CloseDashboardRowOutput(many=True)

    def get_periods(self, board) -> list[str]:
        return [p.code for p in board.periods]
