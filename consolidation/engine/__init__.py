"""Pure consolidation engine: plain dataclasses and Decimal in, a ConsolidationResult out.

Nothing here touches Django, the database or floats, so the same inputs always give the same
result and the same fingerprint (see fingerprint.py). Entry point: ``consolidate(inputs)``.
"""
from consolidation.engine.core import consolidate, inputs_fingerprint
from consolidation.engine.errors import ConsolidationUnbalancedError, EngineInputError
from consolidation.engine.types import (
    Account,
    AccountType,
    Adjustments,
    EngineInputs,
    FxRate,
    Member,
    NetAssetsAtAcquisition,
    PreAcquisitionPL,
    RateType,
    Role,
    TBLine,
    UnrealisedProfit,
)

__all__ = [
    "Account",
    "AccountType",
    "Adjustments",
    "ConsolidationUnbalancedError",
    "EngineInputError",
    "EngineInputs",
    "FxRate",
    "Member",
    "NetAssetsAtAcquisition",
    "PreAcquisitionPL",
    "RateType",
    "Role",
    "TBLine",
    "UnrealisedProfit",
    "consolidate",
    "inputs_fingerprint",
]
