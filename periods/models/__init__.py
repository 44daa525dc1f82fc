from periods.models.calendar import FiscalYear, Period
from periods.models.state import EntityPeriod, PeriodLockSnapshot, PeriodState

__all__ = ["EntityPeriod", "FiscalYear", "Period", "PeriodLockSnapshot", "PeriodState"]
