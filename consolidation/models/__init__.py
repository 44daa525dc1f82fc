import consolidation.errors  # noqa: F401  (registers the database rules)
from consolidation.models.adjustments import AcquisitionAdjustment, AdjustmentKind, AdjustmentLine
from consolidation.models.groups import ConsolidationGroup, ConsolidationMethod, GroupMember
from consolidation.models.intercompany import IcComment, IcDifference, IcStatus
from consolidation.models.rates import FxRate, FxRateType
from consolidation.models.runs import ConsolidationRun, RunStatus

__all__ = [
    "AcquisitionAdjustment", "AdjustmentKind", "AdjustmentLine", "ConsolidationGroup", "ConsolidationMethod",
    "ConsolidationRun", "FxRate", "FxRateType", "GroupMember", "IcComment", "IcDifference", "IcStatus", "RunStatus",
]
