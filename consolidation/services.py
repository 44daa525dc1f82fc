"""Consolidation writes: one function per transition. Runs are records - queued, running, then
succeeded (fingerprint + results) or failed (the error) - and never change after that."""
from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.utils import timezone

from consolidation import selectors
from consolidation.engine import consolidate
from consolidation.engine.fingerprint import changed_sections
from consolidation.errors import RunNotInStateError
from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentKind,
    AdjustmentLine,
    ConsolidationGroup,
    ConsolidationMethod,
    ConsolidationRun,
    FxRate,
    GroupMember,
    RunStatus,
)
from consolidation.posting import run_eliminations_post
from ledger.models import Account
from periods.models import Period
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import CLOSE
from sheshi.errors import PermissionDenied, SheshiError
from sheshi.tenancy.models import Entity, Organisation

_require = require_entity_perm  # one shared check (sheshi/access/checks.py)


@transaction.atomic
def consolidation_group_create(*, actor, organisation: Organisation, code: str, name: str,
                               top_entity: Entity) -> ConsolidationGroup:
    _require(actor, CLOSE, top_entity)
    group = ConsolidationGroup.objects.create(organisation=organisation, code=code, name=name, top_entity=top_entity)
    GroupMember.objects.create(organisation=organisation, group=group, entity=top_entity,
                               valid=DateRange(date(1900, 1, 1), None))
    return group


@transaction.atomic
def group_member_add(*, actor, group: ConsolidationGroup, entity: Entity, parent: Entity, ownership_pct: Decimal,
                     acquired_on: date, valid_from: date | None = None,
                     method: str = ConsolidationMethod.FULL) -> GroupMember:
    """Add a holding from ``valid_from`` (default: the acquisition date), open-ended. PostgreSQL
    refuses an overlap with another holding of the entity in the group (holding_overlap)."""
    _require(actor, CLOSE, group.top_entity)
    return GroupMember.objects.create(organisation_id=group.organisation_id, group=group, entity=entity,
                                      parent=parent, ownership_pct=ownership_pct, acquired_on=acquired_on,
                                      method=method, valid=DateRange(valid_from or acquired_on, None))


@transaction.atomic
def fx_rate_create(*, actor, organisation: Organisation, from_currency: str, to_currency: str, rate_type: str,
                   rate_date: date, rate: Decimal, source: str = "") -> FxRate:
    """A rate dated in a group-locked period is refused by PostgreSQL (fx_rate_frozen); a second
    rate for the same pair, type and date by the unique constraint (fx_rate_duplicate). Rates are
    organisation-wide: entering one needs the close permission on an entity of the organisation."""
    if actor is not None and not actor.is_superuser and not any(
            actor.has_perm(CLOSE, e) for e in Entity.objects.filter(organisation=organisation)):
        raise PermissionDenied("Entering FX rates needs the close permission on an entity of the organisation.")
    return FxRate.objects.create(organisation=organisation, from_currency=from_currency, to_currency=to_currency,
                                 rate_type=rate_type, rate_date=rate_date, rate=rate, source=source)


@transaction.atomic
def adjustment_record(*, actor, group: ConsolidationGroup, kind: str, entity: Entity,
                      lines: list[tuple[Account, Decimal]] = (), period: Period | None = None,
                      buyer: Entity | None = None, amount: Decimal | None = None,
                      inventory_account: Account | None = None,
                      cogs_account: Account | None = None) -> AcquisitionAdjustment:
    _require(actor, CLOSE, group.top_entity)
    adj = AcquisitionAdjustment.objects.create(
        organisation_id=group.organisation_id, group=group, kind=kind, entity=entity, period=period, buyer=buyer,
        amount=amount, inventory_account=inventory_account, cogs_account=cogs_account)
    if kind != AdjustmentKind.UNREALISED_PROFIT:
        AdjustmentLine.objects.bulk_create(
            AdjustmentLine(organisation_id=group.organisation_id, adjustment=adj, account=account, amount=value)
            for account, value in lines)
    return adj


@transaction.atomic
def consolidation_run_request(*, actor, group: ConsolidationGroup, period: Period, label: str = "") -> ConsolidationRun:
    """Queue a run; the django-q2 task starts it after commit."""
    _require(actor, CLOSE, group.top_entity)
    run = ConsolidationRun.objects.create(
        organisation_id=group.organisation_id, group=group, period=period, requested_by=actor,
        requested_label=label or (actor.get_username() if actor is not None else "system"))
    from consolidation.tasks import run_enqueue

    transaction.on_commit(lambda: run_enqueue(run.pk))
    return run


def _locked_run(run_id: int, expected: str, as_attempt: int | None) -> ConsolidationRun:
    """The run FOR UPDATE, in ``expected`` state and, given ``as_attempt``, still owned by that attempt."""
    run = ConsolidationRun.objects.select_for_update(of=("self",)).get(pk=run_id)
    if run.status != expected:
        raise RunNotInStateError(f"Run {run_id} is {run.status}; expected {expected}.")
    if as_attempt is not None and run.attempt != as_attempt:
        raise RunNotInStateError(f"Run {run_id} was restarted (attempt {run.attempt}); attempt {as_attempt} stops.")
    return run


def _transition(run_id: int, expected: str, *, as_attempt: int | None = None, **changes) -> ConsolidationRun:
    with transaction.atomic():
        run = _locked_run(run_id, expected, as_attempt)
        for k, v in changes.items():
            setattr(run, k, v)
        run.save(update_fields=list(changes))
        return run


def consolidation_run_progress(*, run_id: int, progress: int, note: str, as_attempt: int | None = None) -> None:
    _transition(run_id, RunStatus.RUNNING, as_attempt=as_attempt, progress=progress, progress_note=note[:200])


def run_stale_after() -> timedelta:
    """A run still 'running' this long after its start has lost its worker: django-q2 kills a task
    at its timeout, and the broker re-delivers it after ``retry`` (longer than the timeout)."""
    return timedelta(seconds=int(getattr(settings, "Q_CLUSTER", {}).get("timeout") or 600))


def consolidation_run_execute(*, run_id: int) -> ConsolidationRun:
    """Run a queued run: queued -> running (short transaction, so progress is visible), compute,
    then running -> succeeded (results, and the eliminations posted in the group's elimination
    ledger, in one transaction) or failed. Safe to call twice (the broker delivers at least once):
    a finished run, or one running under a live worker, is returned as it is; a run still running
    after the task timeout lost its worker and is restarted as a new attempt, and the old attempt,
    should it still be alive, can no longer move it."""
    with transaction.atomic():
        run = ConsolidationRun.objects.select_for_update(of=("self",)).get(pk=run_id)
        if run.status == RunStatus.RUNNING and run.started_at < timezone.now() - run_stale_after():
            note = "reading (restarted: the previous worker was lost)"
        elif run.status == RunStatus.QUEUED:
            note = "reading"
        else:
            return run
        run.status, run.started_at, run.progress, run.progress_note = RunStatus.RUNNING, timezone.now(), 5, note
        run.attempt += 1
        run.save(update_fields=["status", "started_at", "progress", "progress_note", "attempt"])
        attempt = run.attempt
    started = time.perf_counter()
    try:
        run = ConsolidationRun.objects.select_related("group__organisation", "period__fiscal_year").get(pk=run_id)
        inputs = selectors.engine_inputs_get(group=run.group, period=run.period)
        consolidation_run_progress(run_id=run_id, progress=40, note="consolidating", as_attempt=attempt)
        result = consolidate(inputs)
        consolidation_run_progress(run_id=run_id, progress=80, note="storing", as_attempt=attempt)
        previous = selectors.previous_successful_run(run=run)
        data = result.to_dict()
        with transaction.atomic():  # the run's success and its posted eliminations, together or not at all
            locked = _locked_run(run_id, RunStatus.RUNNING, attempt)
            locked.group, locked.period = run.group, run.period
            posting = run_eliminations_post(run=locked, results=data)
            changes = {
                "status": RunStatus.SUCCEEDED, "progress": 100, "progress_note": "done",
                "fingerprint": result.fingerprint, "fingerprint_sections": result.fingerprint_sections,
                "previous_run": previous, "results": data, "ic_differences": data["ic_differences"],
                "changed_inputs": changed_sections(previous.fingerprint_sections, result.fingerprint_sections)
                if previous else [],
                "posted_entry_ids": posting.posted_entry_ids, "reversal_entry_ids": posting.reversal_entry_ids,
                "posting_error": posting.error,
                "finished_at": timezone.now(), "duration_ms": int((time.perf_counter() - started) * 1000)}
            for k, v in changes.items():
                setattr(locked, k, v)
            locked.save(update_fields=list(changes))
            return locked
    except SheshiError as exc:
        if isinstance(exc, RunNotInStateError):
            raise  # another attempt owns the run now
        return _transition(run_id, RunStatus.RUNNING, as_attempt=attempt, status=RunStatus.FAILED, progress=100,
                           progress_note="failed",
                           error={"code": exc.code, "detail": exc.detail,
                                  "errors": [e.as_dict() for e in exc.errors]},
                           finished_at=timezone.now(), duration_ms=int((time.perf_counter() - started) * 1000))
