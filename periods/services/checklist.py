"""Close checklist services: templates, the tasks they create per entity-period, and each task's
progress (status, the reviewer's sign-off, comments). Reconciliations: periods/services/reconciliation.py.

Each write takes FOR SHARE on the entity-period row first, like a posting: sign-offs and task
changes run side by side, while a lock (FOR NO KEY UPDATE on the same row) waits for them and then sees
their outcome, so the lock's checklist check cannot race a sign-off. Every table written here
carries the audit trigger, so each change is in the audit trail in the same transaction."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from periods import locks
from periods.errors import PeriodStateError, SignOffError, TaskStateError
from periods.models import (
    ChecklistTask,
    ChecklistTaskComment,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EntityPeriod,
    PeriodState,
    TaskStatus,
)
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import APPROVE, AUDIT, CLOSE, PREPARE
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import is_org_admin


def named_actor_require(actor) -> None:
    """Sign-offs, comments and evidence name a person: the system (no actor) is refused."""
    if actor is None:
        raise PermissionDenied("A sign-off needs a named person, not the system.")


def entity_period_share_lock_unlocked(ep: EntityPeriod) -> None:
    """FOR SHARE on the entity-period (periods/locks.py) and refuse a locked one: a close write
    runs beside postings and a lock waits for it."""
    state = locks.entity_period_share_lock(entity_id=ep.entity_id, period_id=ep.period_id)
    if state == PeriodState.LOCKED:
        raise PeriodStateError(f"Period {ep.period.code} of {ep.entity.code} is locked: its close is finished.")


def entity_period_for_close(entity_period_id: int) -> EntityPeriod:
    """The entity-period with its entity and period, or NotFound."""
    ep = EntityPeriod.objects.select_related("entity", "period").filter(pk=entity_period_id).first()
    if ep is None:
        raise NotFound(f"Entity period {entity_period_id} not found.")
    return ep


@transaction.atomic
def checklist_template_create(*, actor, organisation, name: str, items: list[dict], entity=None) -> ChecklistTemplate:
    """``items``: dicts with title, required, default_owner_role, due_offset_days, requires_review,
    in order. A template without ``entity`` applies to every entity of the organisation; with one,
    to that entity only. An organisation admin, or a holder of the close permission on an entity
    of the organisation (on ``entity`` itself for an entity's template), writes them."""
    if entity is not None and entity.organisation_id != organisation.pk:
        raise ValidationFailed("The entity is not in the organisation.",
                               errors=[FieldError("entity", "Not an entity of this organisation.", value=entity.pk)])
    candidates = [entity] if entity is not None else Entity.objects.filter(organisation=organisation)
    if actor is not None and not is_org_admin(actor, organisation.pk) and not any(
            has_entity_perm(actor, CLOSE, e) for e in candidates):
        raise PermissionDenied("Writing close checklist templates needs the close permission on an entity of the "
                               "organisation, or being its admin.")
    template = ChecklistTemplate.objects.create(organisation=organisation, entity=entity, name=name)
    for pos, item in enumerate(items, start=1):
        ChecklistTemplateItem.objects.create(
            organisation=organisation, template=template, position=pos, title=item["title"],
            required=item.get("required", True), default_owner_role=item.get("default_owner_role", ""),
            due_offset_days=item.get("due_offset_days", 0), requires_review=item.get("requires_review", False))
    return template


def _copy_items(ep: EntityPeriod, items) -> tuple[list[ChecklistTask], list[ChecklistTask]]:
    """(all tasks of these items, the ones created now). An item already copied is skipped: the
    unique (entity_period, template_item) makes a second run, or a concurrent one, a no-op."""
    tasks, created = [], []
    for item in items:
        task, new = ChecklistTask.objects.get_or_create(
            entity_period=ep, template_item=item,
            defaults={"organisation_id": ep.organisation_id, "title": item.title, "required": item.required,
                      "owner_role": item.default_owner_role, "requires_review": item.requires_review,
                      "due_date": ep.period.end_date + timedelta(days=item.due_offset_days)})
        tasks.append(task)
        if new:
            created.append(task)
    return tasks, created


@transaction.atomic(durable=True)
def checklist_instantiate(*, actor, entity_period_id: int, template_id: int) -> list[ChecklistTask]:
    """Copy one template's items into the entity-period as tasks. Safe to run twice."""
    ep = entity_period_for_close(entity_period_id)
    require_entity_perm(actor, CLOSE, ep.entity)
    entity_period_share_lock_unlocked(ep)
    template = ChecklistTemplate.objects.filter(pk=template_id, organisation_id=ep.organisation_id).filter(
        Q(entity__isnull=True) | Q(entity_id=ep.entity_id)).first()
    if template is None:
        raise NotFound("No such checklist template for this entity.")
    return _copy_items(ep, template.items.order_by("position"))[0]


@transaction.atomic
def checklist_tasks_create_from_templates(*, actor, entity_period_id: int) -> list[ChecklistTask]:
    """Create the entity-period's close tasks from every active template of its organisation
    (and of the entity itself). Idempotent: returns only the tasks created by this call, so a
    second run returns []. Called when a fiscal year's periods open, by the
    ``create_close_tasks`` command for existing periods, by an admin action and the API."""
    ep = entity_period_for_close(entity_period_id)
    require_entity_perm(actor, CLOSE, ep.entity)
    entity_period_share_lock_unlocked(ep)
    items = (ChecklistTemplateItem.objects
             .filter(template__organisation_id=ep.organisation_id, template__is_active=True)
             .filter(Q(template__entity__isnull=True) | Q(template__entity_id=ep.entity_id))
             .order_by("template__name", "position"))
    return _copy_items(ep, items)[1]


def _locked_task(task_id: int, *, unlocked: bool = True) -> ChecklistTask:
    ep_id = ChecklistTask.objects.filter(pk=task_id).values_list("entity_period_id", flat=True).first()
    if ep_id is None:
        raise NotFound(f"Checklist task {task_id} not found.")
    ep = entity_period_for_close(ep_id)
    if unlocked:
        entity_period_share_lock_unlocked(ep)
    return locks.checklist_tasks_for_update().select_related(
        "entity_period__entity", "entity_period__period").get(pk=task_id)


@transaction.atomic(durable=True)
def checklist_task_assign(*, actor, task_id: int, owner) -> ChecklistTask:
    task = _locked_task(task_id)
    require_entity_perm(actor, CLOSE, task.entity_period.entity)
    task.owner = owner
    task.save(update_fields=["owner", "updated_at"])
    return task


@transaction.atomic(durable=True)
def checklist_task_set_status(*, actor, task_id: int, status: str, evidence=None) -> ChecklistTask:
    """The owner (or anyone with the close permission) moves a task between open, in progress and
    done; ``done`` records who and when (the preparer's sign-off). Moving a done or signed-off
    task back clears both sign-offs. ``evidence`` is an uploaded file stored through the default
    storage. The reviewer's sign-off is checklist_task_sign_off."""
    if status not in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE):
        raise ValidationFailed("Unknown task status.", errors=[FieldError(
            "status", "Use open, in_progress or done (a reviewer signs off with the sign-off).", value=status)])
    task = _locked_task(task_id)
    entity = task.entity_period.entity
    if actor is not None and not actor.is_superuser and task.owner_id != actor.pk:
        require_entity_perm(actor, CLOSE, entity)
    require_entity_perm(actor, PREPARE, entity)
    if evidence is not None:
        task.evidence.save(evidence.name, evidence, save=False)
    task.status = status
    if status == TaskStatus.DONE:
        task.completed_by, task.completed_at = actor, timezone.now()
    else:
        task.completed_by, task.completed_at = None, None
    task.signed_off_by, task.signed_off_at = None, None
    task.save(update_fields=["status", "evidence", "completed_by", "completed_at", "signed_off_by", "signed_off_at",
                             "updated_at"])
    return task


@transaction.atomic(durable=True)
def checklist_task_sign_off(*, actor, task_id: int) -> ChecklistTask:
    """A reviewer (approve permission on the entity) signs off a done task whose template asks
    for review. Never the person who completed it (also a database rule)."""
    named_actor_require(actor)
    task = _locked_task(task_id)
    require_entity_perm(actor, APPROVE, task.entity_period.entity)
    if not task.requires_review:
        raise TaskStateError(f"Task “{task.title}” needs no review: marking it done finishes it.")
    if task.status != TaskStatus.DONE:
        raise TaskStateError(f"Task “{task.title}” is {task.get_status_display().lower()}; only a done task can be "
                             "signed off.")
    if task.completed_by_id == actor.pk:
        raise SignOffError(f"You completed task “{task.title}”; someone else must sign it off.")
    task.status, task.signed_off_by, task.signed_off_at = TaskStatus.SIGNED_OFF, actor, timezone.now()
    task.save(update_fields=["status", "signed_off_by", "signed_off_at", "updated_at"])
    return task


@transaction.atomic(durable=True)
def checklist_task_comment_add(*, actor, task_id: int, body: str) -> ChecklistTaskComment:
    """A named person who works on the entity's close (prepares, approves, closes or audits)
    adds a note to a task; also on a locked period (an auditor's question comes after the lock)."""
    named_actor_require(actor)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("A comment needs some text.", errors=[FieldError("body", "Required.", code="required")])
    task = _locked_task(task_id, unlocked=False)
    entity = task.entity_period.entity
    if not actor.is_superuser and not any(has_entity_perm(actor, p, entity) for p in (PREPARE, APPROVE, CLOSE, AUDIT)):
        raise PermissionDenied(f"Commenting on close tasks of {entity.code} needs a role on the entity that works on "
                               "its close.", perm=PREPARE, entity_code=entity.code)
    return ChecklistTaskComment.objects.create(organisation_id=task.organisation_id, task=task, author=actor,
                                               body=body)
