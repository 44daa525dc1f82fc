"""Shapes only: the run record and its results travel as stored (amounts as decimal strings)."""
from __future__ import annotations

from rest_framework import serializers

from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentKind,
    AdjustmentLine,
    ConsolidationGroup,
    ConsolidationMethod,
    ConsolidationRun,
    FxRate,
    FxRateType,
    GroupMember,
)
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, RATE_DIGITS, RATE_PLACES
from sheshi.security.validation import DecimalStringField

CURRENCY = r"^[A-Z]{3}$"


class ConsolidationRunCreateInput(serializers.Serializer):
    group = serializers.IntegerField(help_text="Consolidation group id.")
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="Period code YYYY-MM.")


class ConsolidationRunOutput(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = ConsolidationRun
        fields = ["id", "group", "period", "status", "progress", "progress_note", "fingerprint", "changed_inputs",
                  "previous_run", "requested_label", "requested_at", "started_at", "finished_at", "duration_ms",
                  "error", "attempt", "posted_entry_ids", "reversal_entry_ids", "posting_error", "summary"]

    def get_summary(self, run) -> dict | None:
        if not run.results:
            return None
        keys = ("consolidated_tb", "nci_equity", "nci_profit", "goodwill", "cta", "cta_nci", "ic_differences",
                "totals", "profit_attributable_to_owners", "effective_interest", "fingerprint", "rounding_adjustments")
        return {k: run.results[k] for k in keys}


class ConsolidationRunResultsOutput(serializers.Serializer):
    """The full stored results without the per-account components (see the account drill-down)."""

    def to_representation(self, run):
        return {k: v for k, v in (run.results or {}).items() if k != "components"}


class FxRatesUploadInput(serializers.Serializer):
    organisation = serializers.IntegerField()
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX: from, to, type, rate, date.")


class FxRateOutput(serializers.ModelSerializer):
    class Meta:
        model = FxRate
        fields = ["id", "organisation", "from_currency", "to_currency", "rate_type", "rate_date", "rate", "source",
                  "created_at"]


class FxRateCreateInput(serializers.Serializer):
    organisation = serializers.IntegerField(min_value=1)
    from_currency = serializers.RegexField(CURRENCY, help_text="ISO 4217")
    to_currency = serializers.RegexField(CURRENCY, help_text="ISO 4217")
    rate_type = serializers.ChoiceField(FxRateType.choices)
    rate_date = serializers.DateField(help_text="Closing and average rates are dated on their period's last day.")
    rate = DecimalStringField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES,
                              help_text="Units of to_currency per one from_currency, as a decimal string.")
    source = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ConsolidationGroupOutput(serializers.ModelSerializer):
    top_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    elimination_entity = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ConsolidationGroup
        fields = ["id", "organisation", "code", "name", "top_entity", "elimination_entity", "created_at"]


class ConsolidationGroupCreateInput(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$", max_length=32)
    name = serializers.CharField(max_length=200)
    top_entity = serializers.CharField(max_length=32, help_text="Entity code of the top parent.")


class HoldingOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    valid_from = serializers.DateField(source="valid.lower", read_only=True, allow_null=True)
    valid_to = serializers.DateField(source="valid.upper", read_only=True, allow_null=True,
                                     help_text="Exclusive; null while the holding lasts.")

    class Meta:
        model = GroupMember
        fields = ["id", "group", "entity", "parent", "ownership_pct", "acquired_on", "method", "valid_from",
                  "valid_to"]


class HoldingCreateInput(serializers.Serializer):
    group = serializers.IntegerField(min_value=1, help_text="Consolidation group id.")
    entity = serializers.CharField(max_length=32, help_text="Entity code of the subsidiary.")
    parent = serializers.CharField(max_length=32, help_text="Entity code of the holder.")
    ownership_pct = DecimalStringField(max_digits=7, decimal_places=4, help_text="Above 0, at most 100.")
    acquired_on = serializers.DateField()
    valid_from = serializers.DateField(required=False, help_text="Default: the acquisition date.")
    method = serializers.ChoiceField(ConsolidationMethod.choices, default=ConsolidationMethod.FULL)


def _amount_in(**kw):
    return DecimalStringField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kw)


class AdjustmentLineOutput(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = AdjustmentLine
        fields = ["account", "amount"]


class AcquisitionFactOutput(serializers.ModelSerializer):
    entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    buyer = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    inventory_account = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    cogs_account = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    lines = AdjustmentLineOutput(many=True, read_only=True)

    class Meta:
        model = AcquisitionAdjustment
        fields = ["id", "group", "kind", "entity", "period", "buyer", "amount", "inventory_account", "cogs_account",
                  "lines", "created_at"]


class AdjustmentLineInput(serializers.Serializer):
    account = serializers.CharField(max_length=32, help_text="Group account code.")
    amount = _amount_in(help_text="In the member's functional currency, debit positive.")


class AcquisitionFactCreateInput(serializers.Serializer):
    """Net assets at acquisition and pre-acquisition P&L: ``entity`` and its ``lines``. Unrealised
    profit: seller ``entity``, ``buyer``, ``period``, ``amount`` (group currency) and the
    ``inventory_account`` / ``cogs_account``."""

    group = serializers.IntegerField(min_value=1, help_text="Consolidation group id.")
    kind = serializers.ChoiceField(AdjustmentKind.choices)
    entity = serializers.CharField(max_length=32, help_text="Entity code (the member, or the seller).")
    lines = AdjustmentLineInput(many=True, required=False, max_length=5000)
    period = serializers.CharField(max_length=16, required=False)
    buyer = serializers.CharField(max_length=32, required=False)
    amount = _amount_in(required=False)
    inventory_account = serializers.CharField(max_length=32, required=False)
    cogs_account = serializers.CharField(max_length=32, required=False)

    def validate(self, attrs):
        if attrs["kind"] == AdjustmentKind.UNREALISED_PROFIT:
            needed = ("period", "buyer", "amount", "inventory_account", "cogs_account")
        else:
            needed = ("lines",)
        missing = {f: "Required for this kind." for f in needed if not attrs.get(f)}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class LedgerRoleGrantInput(serializers.Serializer):
    """A role on the group's consolidation ledger: viewer/auditor see its journals; preparer or
    controller may prepare manual adjustments there."""

    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(["viewer", "auditor", "preparer", "approver", "controller"])


class ConsolidationAdjustmentLineInput(serializers.Serializer):
    account = serializers.CharField(max_length=32, help_text="Group account code.")
    amount = _amount_in(help_text="Group currency, debit positive.")


class ConsolidationAdjustmentCreateInput(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="Period code YYYY-MM.")
    description = serializers.CharField(max_length=500)
    lines = ConsolidationAdjustmentLineInput(many=True, min_length=2, max_length=500)


class ConsolidationJournalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    status = serializers.CharField()
    description = serializers.CharField()
    entry_date = serializers.DateField()
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
