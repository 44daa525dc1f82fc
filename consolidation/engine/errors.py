"""Engine refusals. They are SheshiErrors so the API renders them like any other refusal; their
codes are the consolidation app's (consolidation/errors.py)."""
from __future__ import annotations

from consolidation.errors import ConsolidationErrorCode
from sheshi.errors import RuleViolation, SheshiError


class EngineInputError(RuleViolation):
    """The inputs cannot be consolidated as given (missing rate, cycle, negative goodwill, ...)."""

    error = ConsolidationErrorCode.INPUT_INVALID


class ConsolidationUnbalancedError(SheshiError):
    """The consolidated trial balance does not sum to zero: an engine defect, never data to keep."""

    error = ConsolidationErrorCode.UNBALANCED
