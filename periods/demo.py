"""Demo data for the close: a year whose first quarter is locked for every entity, and the month after it
ready to close with its checklist."""
from __future__ import annotations

from periods.models import ChecklistTask, PeriodLockSnapshot, PeriodState
from periods.services.checklist import checklist_tasks_create_from_templates, checklist_template_create
from periods.services.close import entity_periods_move, entity_periods_resolve
from sheshi.tenancy.models import Entity, Organisation

DEMO_LOCKED_PERIODS = ("2026-01", "2026-02", "2026-03")
DEMO_CLOSING_PERIOD = "2026-04"  # the month the README's tour closes
DEMO_CHECKLIST = [
    {"title": "Bank reconciliation", "required": True, "default_owner_role": "preparer", "due_offset_days": 3,
     "requires_review": True},
    {"title": "Accruals and prepayments reviewed", "required": True, "default_owner_role": "preparer",
     "due_offset_days": 4},
    {"title": "Intercompany balances confirmed with counterparties", "required": True,
     "default_owner_role": "controller", "due_offset_days": 5},
    {"title": "Fixed asset register agreed to the ledger", "required": False, "default_owner_role": "preparer",
     "due_offset_days": 7},
]


def lock_demo_periods(org: Organisation, *, actor=None) -> list[PeriodLockSnapshot]:
    """Lock Jan–Mar 2026 of every active entity through the services (snapshot and hash each),
    oldest period first. Periods already locked are left as they are, so it is safe to run twice."""
    for code in DEMO_LOCKED_PERIODS:
        eps = [ep for ep in entity_periods_resolve(organisation=org, period_code=code)
               if ep.state != PeriodState.LOCKED]
        if eps:
            entity_periods_move(actor=actor, entity_period_ids=[ep.pk for ep in eps], to=PeriodState.LOCKED,
                                reason="demo: first quarter closed")
    return list(PeriodLockSnapshot.objects.filter(entity_period__organisation=org,
                                                  entity_period__period__code__in=DEMO_LOCKED_PERIODS)
                .order_by("entity_period__period__start_date", "entity_period__entity_id"))


def demo_close_checklist(org: Organisation, entities: list[Entity], *, actor=None) -> list[ChecklistTask]:
    """The organisation's month-end checklist template, and its tasks for the month the tour closes.
    After the first quarter is locked: templated tasks in those months would have blocked their lock
    (as they should). ``entities``: the members' books (not the group's consolidation ledger). Safe to
    run twice: the template is created once, the tasks once per entity-period."""
    if not org.checklist_templates.exists():
        checklist_template_create(actor=actor, organisation=org, name="Month-end close", items=DEMO_CHECKLIST)
    tasks = []
    for ep in entity_periods_resolve(organisation=org, period_code=DEMO_CLOSING_PERIOD,
                                     entity_codes=[e.code for e in entities]):
        tasks += checklist_tasks_create_from_templates(actor=actor, entity_period_id=ep.pk)
    return tasks
