from periods.models.calendar import FiscalYear, Period
from periods.models.checklist import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTemplate,
    ChecklistTemplateItem,
    LockOverride,
    ReconciliationStatus,
    TaskStatus,
)
from periods.models.group import GroupPeriodLock
from periods.models.state import EntityPeriod, PeriodLockSnapshot, PeriodState

__all__ = [
    "AccountReconciliation", "ChecklistTask", "ChecklistTemplate", "ChecklistTemplateItem", "EntityPeriod",
    "FiscalYear", "GroupPeriodLock", "LockOverride", "Period", "PeriodLockSnapshot", "PeriodState",
    "ReconciliationStatus", "TaskStatus",
]
