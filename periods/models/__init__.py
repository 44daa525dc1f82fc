from periods.models.calendar import FiscalYear, Period
from periods.models.checklist import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTaskComment,
    ChecklistTemplate,
    ChecklistTemplateItem,
    LockOverride,
    ReconciliationEvidence,
    ReconciliationStatus,
    ReconcilingItem,
    TaskStatus,
)
from periods.models.group import GroupPeriodLock
from periods.models.state import EntityPeriod, PeriodLockSnapshot, PeriodState

__all__ = [
    "AccountReconciliation",
    "ChecklistTask",
    "ChecklistTaskComment",
    "ChecklistTemplate",
    "ChecklistTemplateItem",
    "EntityPeriod",
    "FiscalYear",
    "GroupPeriodLock",
    "LockOverride",
    "Period",
    "PeriodLockSnapshot",
    "PeriodState",
    "ReconciliationEvidence",
    "ReconciliationStatus",
    "ReconcilingItem",
    "TaskStatus",
]
