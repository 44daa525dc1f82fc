"""Engine refusals. They are SheshiErrors so the API renders them like any other refusal."""
from __future__ import annotations

from sheshi.errors import RuleViolation, SheshiError


class EngineInputError(RuleViolation):
    """The inputs cannot be consolidated as given (missing rate, cycle, negative goodwill, ...)."""

    code, title = "consolidation_input_invalid", "The consolidation inputs are not consistent."


class ConsolidationUnbalancedError(SheshiError):
    """The consolidated trial balance does not sum to zero: an engine defect, never data to keep."""

    code, title, status = "consolidation_unbalanced", "The consolidated trial balance does not balance.", 500
