"""Shapes only: the run record and its results travel as stored (amounts as decimal strings)."""
from __future__ import annotations

from rest_framework import serializers

from consolidation.models import ConsolidationRun


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
