"""Close checklist and reconciliation sign-off services.

Each write takes FOR SHARE on the entity-period row first, like a posting: sign-offs and task
changes run side by side, while a lock (FOR UPDATE on the same row) waits for them and then sees
their outcome, so the lock's checklist check cannot race a sign-off."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ledger.locks import entity_period_share_lock
from periods.errors import PeriodStateError, ReconciliationLapsedError, SignOffError
from periods.models import (
    AccountReconciliation,
    ChecklistTask,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EntityPeriod,
    PeriodState,
    ReconciliationStatus,
    TaskStatus,
)
from periods.selectors import account_period_figures
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import APPROVE, CLOSE, PREPARE
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed

_require = require_entity_perm  # one shared check (sheshi/access/checks.py)


def _named(actor) -> None:
    if actor is None:
        raise PermissionDenied("A sign-off needs a named person, not the system.")


def _share_lock_unlocked(ep: EntityPeriod) -> None:
    state = entity_period_share_lock(entity_id=ep.entity_id, period_id=ep.period_id)
    if state == PeriodState.LOCKED:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is locked: its close is finished.")


def _entity_period(entity_period_id: int) -> EntityPeriod:
    ep = EntityPeriod.objects.select_related("entity", "period").filter(pk=entity_period_id).first()
    if ep is None:
        raise NotFound(f"Entity period {entity_period_id} not found.")
    return ep


@transaction.atomic
def checklist_template_create(*, actor, organisation, name: str, items: list[dict]) -> ChecklistTemplate:
    """``items``: dicts with title, required, default_owner_role, due_offset_days, in order.
    Templates are organisation-wide: an organisation admin, or a holder of the close permission on
    an entity of the organisation, writes them (the system actor too)."""
    from sheshi.access.checks import has_entity_perm
    from sheshi.tenancy.models import Entity
    from sheshi.tenancy.scoping import is_org_admin

    if actor is not None and not is_org_admin(actor, organisation.pk) and not any(
            has_entity_perm(actor, CLOSE, e) for e in Entity.objects.filter(organisation=organisation)):
        raise PermissionDenied("Writing close checklist templates needs the close permission on an entity of the "
                               "organisation, or being its admin.")
    template = ChecklistTemplate.objects.create(organisation=organisation, name=name)
    for pos, item in enumerate(items, start=1):
        ChecklistTemplateItem.objects.create(
            organisation=organisation, template=template, position=pos, title=item["title"],
            required=item.get("required", True), default_owner_role=item.get("default_owner_role", ""),
            due_offset_days=item.get("due_offset_days", 0))
    return template


@transaction.atomic
def checklist_instantiate(*, actor, entity_period_id: int, template_id: int) -> list[ChecklistTask]:
    """Copy the template's items into the entity-period as tasks. Safe to run twice: an item
    already copied is skipped."""
    ep = _entity_period(entity_period_id)
    _require(actor, CLOSE, ep.entity)
    _share_lock_unlocked(ep)
    template = ChecklistTemplate.objects.filter(pk=template_id, organisation_id=ep.organisation_id).first()
    if template is None:
        raise NotFound("No such checklist template in this organisation.")
    tasks = []
    for item in template.items.order_by("position"):
        task, _ = ChecklistTask.objects.get_or_create(
            entity_period=ep, template_item=item,
            defaults={"organisation_id": ep.organisation_id, "title": item.title, "required": item.required,
                      "owner_role": item.default_owner_role,
                      "due_date": ep.period.end_date + timedelta(days=item.due_offset_days)})
        tasks.append(task)
    return tasks


def _locked_task(task_id: int) -> ChecklistTask:
    ep_id = ChecklistTask.objects.filter(pk=task_id).values_list("entity_period_id", flat=True).first()
    if ep_id is None:
        raise NotFound(f"Checklist task {task_id} not found.")
    _share_lock_unlocked(_entity_period(ep_id))
    return ChecklistTask.objects.select_for_update(of=("self",)).select_related(
        "entity_period__entity").get(pk=task_id)


@transaction.atomic
def checklist_task_assign(*, actor, task_id: int, owner) -> ChecklistTask:
    task = _locked_task(task_id)
    _require(actor, CLOSE, task.entity_period.entity)
    task.owner = owner
    task.save(update_fields=["owner", "updated_at"])
    return task


@transaction.atomic
def checklist_task_set_status(*, actor, task_id: int, status: str, evidence=None) -> ChecklistTask:
    """The owner (or anyone with the close permission) moves a task; ``done`` records who and
    when. ``evidence`` is an uploaded file stored through the default storage."""
    if status not in TaskStatus.values:
        raise ValidationFailed("Unknown task status.", errors=[FieldError("status", "Invalid.", value=status)])
    task = _locked_task(task_id)
    entity = task.entity_period.entity
    if actor is not None and not actor.is_superuser and task.owner_id != actor.pk:
        _require(actor, CLOSE, entity)
    _require(actor, PREPARE, entity)
    if evidence is not None:
        task.evidence.save(evidence.name, evidence, save=False)
    task.status = status
    if status == TaskStatus.DONE:
        task.completed_by, task.completed_at = actor, timezone.now()
    else:
        task.completed_by, task.completed_at = None, None
    task.save(update_fields=["status", "evidence", "completed_by", "completed_at", "updated_at"])
    return task


@transaction.atomic
def reconciliation_require(*, actor, entity_period_id: int, account_ids: list[int]) -> list[AccountReconciliation]:
    """Declare which accounts must be reconciled before the period locks."""
    ep = _entity_period(entity_period_id)
    _require(actor, CLOSE, ep.entity)
    _share_lock_unlocked(ep)
    from ledger.models import Account

    found = set(Account.objects.filter(pk__in=account_ids, organisation_id=ep.organisation_id)
                .values_list("pk", flat=True))
    if missing := [a for a in account_ids if a not in found]:
        raise ValidationFailed("Unknown account.", errors=[FieldError("accounts", "Not an account of this "
                                                                      "organisation.", value=a) for a in missing])
    return [AccountReconciliation.objects.get_or_create(entity_period=ep, account_id=a,
                                                        defaults={"organisation_id": ep.organisation_id})[0]
            for a in account_ids]


@transaction.atomic
def reconciliation_prepare(*, actor, entity_period_id: int, account_id: int, note: str = "") -> AccountReconciliation:
    """The preparer signs the account's current balance: pins functional net, line count and the
    lines' hash. Preparing again (after a lapse) re-pins and clears any review."""
    _named(actor)
    ep = _entity_period(entity_period_id)
    _require(actor, PREPARE, ep.entity)
    _share_lock_unlocked(ep)
    rec = (AccountReconciliation.objects.select_for_update(of=("self",))
           .filter(entity_period=ep, account_id=account_id).first())
    if rec is None:
        rec = reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[account_id])[0]
        rec = AccountReconciliation.objects.select_for_update(of=("self",)).get(pk=rec.pk)
    net, count, sha = account_period_figures(entity_id=ep.entity_id, period_id=ep.period_id, account_id=account_id)
    rec.status = ReconciliationStatus.PREPARED
    rec.pinned_functional_net, rec.pinned_line_count, rec.pinned_lines_sha256 = net, count, sha
    rec.prepared_by, rec.prepared_at, rec.reviewed_by, rec.reviewed_at = actor, timezone.now(), None, None
    rec.note = note
    rec.save()
    return rec


@transaction.atomic
def reconciliation_review(*, actor, reconciliation_id: int) -> AccountReconciliation:
    """A second person certifies the prepared figures. Refused when the balance or its lines
    changed since preparation (the preparer must sign the new figures first)."""
    _named(actor)
    ep_id = (AccountReconciliation.objects.filter(pk=reconciliation_id)
             .values_list("entity_period_id", flat=True).first())
    if ep_id is None:
        raise NotFound(f"Reconciliation {reconciliation_id} not found.")
    ep = _entity_period(ep_id)
    _require(actor, APPROVE, ep.entity)
    _share_lock_unlocked(ep)
    rec = AccountReconciliation.objects.select_for_update(of=("self",)).get(pk=reconciliation_id)
    if rec.status != ReconciliationStatus.PREPARED:
        raise PeriodStateError(f"Reconciliation {rec.pk} is {rec.status}; only a prepared one can be reviewed.",
                               code="reconciliation_wrong_state")
    if rec.prepared_by_id == actor.pk:
        raise SignOffError("You prepared this reconciliation; someone else must review it.")
    now = account_period_figures(entity_id=ep.entity_id, period_id=ep.period_id, account_id=rec.account_id)
    if tuple(now) != (rec.pinned_functional_net, rec.pinned_line_count, rec.pinned_lines_sha256):
        raise ReconciliationLapsedError(
            f"The balance changed since it was prepared (pinned {rec.pinned_functional_net} over "
            f"{rec.pinned_line_count} lines, now {now[0]} over {now[1]}); prepare it again.")
    rec.status, rec.reviewed_by, rec.reviewed_at = ReconciliationStatus.REVIEWED, actor, timezone.now()
    rec.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return rec
