"""Consolidation writes: one function per transition. Runs are records - queued, running, then
succeeded (fingerprint + results) or failed (the error) - and never change after that."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import JSONField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django_q.tasks import async_task

from consolidation import locks
from consolidation.engine import consolidate, inputs_fingerprint
from consolidation.engine.fingerprint import changed_sections
from consolidation.errors import IcDifferenceWrongStateError, IcUnresolvedError, RunNotInStateError
from consolidation.models import (
    AcquisitionAdjustment,
    AdjustmentKind,
    AdjustmentLine,
    ConsolidationGroup,
    ConsolidationMethod,
    ConsolidationRun,
    FxRate,
    GroupMember,
    IcComment,
    IcDifference,
    IcStatus,
    RunStatus,
)
from consolidation.selectors import runs as selectors
from consolidation.services.posting import run_eliminations_post
from ledger.models import Account
from periods.models import GroupPeriodLock, Period
from periods.services.group_lock import group_period_lock, group_period_unlock
from sheshi.access.checks import has_entity_perm, require_entity_perm
from sheshi.access.roles import CLOSE, PREPARE, REOPEN
from sheshi.db.context import current_context, set_context
from sheshi.errors import Conflict, FieldError, NotFound, PermissionDenied, SheshiError, ValidationFailed
from sheshi.gc_pause import cyclic_gc_paused
from sheshi.jobs.timeouts import job_stale_after
from sheshi.tenancy.models import Entity, Organisation


def run_enqueue(run_id: int) -> None:
    """Hand the run to the worker (by the task's dotted name: the services never import the tasks)."""
    # The ORM broker calls close_old_connections(), which may close this connection (CONN_MAX_AGE)
    # and with it the session's scope: put the caller's context back on the new connection.
    saved = current_context()
    try:
        async_task("consolidation.tasks.consolidation_run_task", run_id,
                   sync=bool(getattr(settings, "Q_CLUSTER", {}).get("sync")))
    finally:
        set_context(saved)


@transaction.atomic
def consolidation_group_create(*, actor, organisation: Organisation, code: str, name: str,
                               top_entity: Entity) -> ConsolidationGroup:
    require_entity_perm(actor, CLOSE, top_entity)
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
    require_entity_perm(actor, CLOSE, group.top_entity)
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
    require_entity_perm(actor, CLOSE, group.top_entity)
    adj = AcquisitionAdjustment.objects.create(
        organisation_id=group.organisation_id, group=group, kind=kind, entity=entity, period=period, buyer=buyer,
        amount=amount, inventory_account=inventory_account, cogs_account=cogs_account)
    if kind != AdjustmentKind.UNREALISED_PROFIT:
        AdjustmentLine.objects.bulk_create(
            AdjustmentLine(organisation_id=group.organisation_id, adjustment=adj, account=account, amount=value)
            for account, value in lines)
    return adj


@transaction.atomic
def consolidation_run_create(*, actor, group: ConsolidationGroup, period: Period, label: str = "") -> ConsolidationRun:
    """Record a queued run in the caller's transaction and queue nothing: for a caller that runs it
    itself (consolidation_run_execute) before it commits, as the demo loader does. Everyone else
    asks consolidation_run_request."""
    require_entity_perm(actor, CLOSE, group.top_entity)
    return ConsolidationRun.objects.create(
        organisation_id=group.organisation_id, group=group, period=period, requested_by=actor,
        requested_label=label or (actor.get_username() if actor is not None else "system"))


@transaction.atomic(durable=True)
def consolidation_run_request(*, actor, group: ConsolidationGroup, period: Period, label: str = "") -> ConsolidationRun:
    """Queue a run in a transaction of its own; the django-q2 task starts it once that commits
    (durable: an outer transaction would decide when, or whether, the job is queued)."""
    run = consolidation_run_create(actor=actor, group=group, period=period, label=label)
    transaction.on_commit(partial(run_enqueue, run.pk))
    return run


@transaction.atomic(durable=True)
def consolidation_runs_request(*, actor, group: ConsolidationGroup, periods: Sequence[Period],
                               label: str = "") -> list[ConsolidationRun]:
    """Queue a run of each period, all or none, in a transaction of its own; each task starts
    once it commits."""
    runs = [consolidation_run_create(actor=actor, group=group, period=p, label=label) for p in periods]
    for run in runs:
        transaction.on_commit(partial(run_enqueue, run.pk))
    return runs


def _locked_run(run_id: int, expected: str, as_attempt: int | None) -> ConsolidationRun:
    """The run FOR NO KEY UPDATE, in ``expected`` state and, given ``as_attempt``, still owned by that attempt."""
    run = locks.runs_for_update().get(pk=run_id)
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


def consolidation_run_execute(*, run_id: int) -> ConsolidationRun:
    """Run a queued run: queued -> running (short transaction, so progress is visible), compute,
    then running -> succeeded (results, and the eliminations posted in the group's elimination
    ledger, in one transaction) or failed. Safe to call twice (the broker delivers at least once):
    a finished run, or one running under a live worker, is returned as it is; a run still running
    after the task timeout lost its worker and is restarted as a new attempt, and the old attempt,
    should it still be alive, can no longer move it."""
    with transaction.atomic():
        run = locks.runs_for_update().get(pk=run_id)
        if run.status == RunStatus.RUNNING and run.started_at < timezone.now() - job_stale_after():
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
    # The cyclic collector paused while the run reads, computes and stores (sheshi/gc_pause.py):
    # the inputs, results and journals are acyclic and large (100,000 TB lines and 55,000 journal
    # lines at 50 members), and the collector's full passes over them were a third of the
    # process's CPU seconds of a run (bench/consolidation/README.md).
    with cyclic_gc_paused():
        return _execute(run_id, attempt, started)


def _execute(run_id: int, attempt: int, started: float) -> ConsolidationRun:
    try:
        run = ConsolidationRun.objects.select_related("group__organisation", "period__fiscal_year").get(pk=run_id)
        inputs = selectors.engine_inputs_get(group=run.group, period=run.period)
        consolidation_run_progress(run_id=run_id, progress=40, note="consolidating", as_attempt=attempt)
        # The fingerprint is taken beside the posting (below), not here: the same function of the
        # same inputs, in the time the posting leaves this process waiting for PostgreSQL.
        result = consolidate(inputs, fingerprinted=False)
        consolidation_run_progress(run_id=run_id, progress=80, note="storing", as_attempt=attempt)
        previous = selectors.previous_successful_run(run=run)
        data = result.to_dict()
        # A second thread fingerprints the inputs and writes the results' JSON text (6 MB at 50
        # members) while this one posts the journals, which is mostly waiting for PostgreSQL. It
        # reads what nothing changes meanwhile (the inputs, the results dict: the posting only
        # reads it) and serialises a copy with the fingerprint, stored as the same jsonb.
        with ThreadPoolExecutor(max_workers=1) as pool:
            stamped = pool.submit(_fingerprinted_json, inputs, data)
            return _succeed(run, attempt, started, result, previous, data, stamped)
    except SheshiError as exc:
        if isinstance(exc, RunNotInStateError):
            raise  # another attempt owns the run now
        return _transition(run_id, RunStatus.RUNNING, as_attempt=attempt, status=RunStatus.FAILED, progress=100,
                           progress_note="failed",
                           error={"code": exc.code, "detail": exc.detail,
                                  "errors": [e.as_dict() for e in exc.errors]},
                           finished_at=timezone.now(), duration_ms=int((time.perf_counter() - started) * 1000))


def _fingerprinted_json(inputs, data: dict) -> tuple[str, dict[str, str], str]:
    """(fingerprint, its sections, the results' JSON text with both), as consolidate() would have
    put them in the results."""
    stamp, sections = inputs_fingerprint(inputs)
    return stamp, sections, json.dumps({**data, "fingerprint": stamp,
                                        "fingerprint_sections": dict(sorted(sections.items()))})


def _succeed(run: ConsolidationRun, attempt: int, started: float, result, previous: ConsolidationRun | None,
             data: dict, stamped) -> ConsolidationRun:
    """running -> succeeded: the run's success and its posted eliminations, together or not at all."""
    with transaction.atomic():
        locked = _locked_run(run.pk, RunStatus.RUNNING, attempt)
        locked.group, locked.period = run.group, run.period
        posting = run_eliminations_post(run=locked, results=data)
        result.fingerprint, result.fingerprint_sections, results_json = stamped.result()
        data["fingerprint"], data["fingerprint_sections"] = result.fingerprint, dict(
            sorted(result.fingerprint_sections.items()))
        changes = {
            "status": RunStatus.SUCCEEDED, "progress": 100, "progress_note": "done",
            "fingerprint": result.fingerprint, "fingerprint_sections": result.fingerprint_sections,
            "previous_run": previous,
            "results": Cast(Value(results_json), output_field=JSONField()),
            "ic_differences": data["ic_differences"],
            "changed_inputs": changed_sections(previous.fingerprint_sections, result.fingerprint_sections)
            if previous else [],
            "posted_entry_ids": posting.posted_entry_ids, "reversal_entry_ids": posting.reversal_entry_ids,
            "posting_error": posting.error,
            "finished_at": timezone.now(), "duration_ms": int((time.perf_counter() - started) * 1000)}
        for k, v in changes.items():
            setattr(locked, k, v)
        locked.save(update_fields=list(changes))
        locked.results = data  # the dict the text was made from, not the expression that wrote it
        ic_worklist_sync(run=locked)
        return locked


# --- intercompany worklist --------------------------------------------------------------------

def _can_work_on(actor, difference: IcDifference) -> bool:
    """Controllers of the group, and preparers of either member of the pair (the system: always)."""
    if actor is None or has_entity_perm(actor, CLOSE, difference.group.top_entity):
        return True
    return any(has_entity_perm(actor, PREPARE, e) for e in (difference.entity, difference.counterparty))


def _ic_locked(difference_id: int) -> IcDifference:
    found = (locks.ic_differences_for_update().select_related("group__top_entity", "entity", "counterparty", "period")
             .filter(pk=difference_id).first())
    if found is None:
        raise NotFound(f"Intercompany difference {difference_id} not found.")
    return found


def _ic_save(row: IcDifference, reason: str, /, **changes) -> IcDifference:
    for k, v in changes.items():
        setattr(row, k, v)
    row._change_reason = reason[:100]
    row.save(update_fields=[*changes, "updated_at"])
    return row


def ic_worklist_sync(*, run: ConsolidationRun) -> list[IcDifference]:
    """Bring the group's worklist for the run's period in line with what the run found: new pairs
    open, known pairs take the run's amounts (and reopen when their difference moved), pairs the
    run no longer reports are resolved. Inside the run's success transaction, after the group row
    is locked (run_eliminations_post), so two runs of a group never refresh it side by side."""
    found = run.results.get("ic_differences", []) if run.results else []
    codes = {c for d in found for c in (d["entity"], d["counterparty"])}
    accounts = {c for d in found for c in (d["account"], d["counterparty_account"])}
    entity_ids = dict(Entity.objects.filter(organisation_id=run.organisation_id, code__in=codes)
                      .values_list("code", "pk"))
    account_ids = dict(Account.objects.filter(organisation_id=run.organisation_id, code__in=accounts)
                       .values_list("code", "pk"))
    standing = {(d.entity_id, d.account_id, d.counterparty_id): d
                for d in locks.ic_differences_for_update().filter(group_id=run.group_id, period_id=run.period_id)}
    out = []
    for d in found:
        key = (entity_ids[d["entity"]], account_ids[d["account"]], entity_ids[d["counterparty"]])
        amounts = {k: Decimal(d[k]) for k in ("entity_amount", "counterparty_amount", "difference", "eliminated")}
        # The run rounds each figure to the cent from the exact ones, so the two sides can miss the
        # difference by a cent (-214.96 + 214.96 against -0.01); the row must add up
        # (ic_difference_is_the_sum): the counterparty's side takes that cent, the difference stays as reported.
        amounts["counterparty_amount"] = amounts["difference"] - amounts["entity_amount"]
        row = standing.pop(key, None)
        if row is None:
            row = IcDifference(organisation_id=run.organisation_id, group_id=run.group_id, period_id=run.period_id,
                               run=run, first_run=run, entity_id=key[0], account_id=key[1], counterparty_id=key[2],
                               counterparty_account_id=account_ids[d["counterparty_account"]], **amounts)
            row._change_reason = f"found by run {run.pk}"
            row.save()
        elif row.difference != amounts["difference"] and row.status != IcStatus.OPEN:
            reason = f"run {run.pk}: difference now {amounts['difference']:.2f}, was {row.difference:.2f}; reopened"
            _ic_save(row, reason, run=run, status=IcStatus.OPEN, **amounts)
        else:
            _ic_save(row, f"reported again by run {run.pk}", run=run, **amounts)
        out.append(row)
    for row in standing.values():
        if row.status != IcStatus.RESOLVED:
            _ic_save(row, f"no longer reported by run {run.pk}", run=run, status=IcStatus.RESOLVED,
                     resolution=row.resolution or f"Agreed in run {run.pk}: no difference any more.")
    return out


@transaction.atomic(durable=True)
def ic_difference_assign(*, actor, difference_id: int, assignee) -> IcDifference:
    """Give a difference to someone who can work on it (or to nobody, with ``assignee=None``)."""
    row = _ic_locked(difference_id)
    require_entity_perm(actor, CLOSE, row.group.top_entity)
    if assignee is not None and not _can_work_on(assignee, row):
        raise ValidationFailed("The assignee cannot work on this difference.", errors=[FieldError(
            "assignee", f"{assignee.get_username()} needs close_periods on {row.group.top_entity.code} or "
                        f"prepare_entries on {row.entity.code} or {row.counterparty.code}.",
            code="assignee_no_rights")])
    who = assignee.get_username() if assignee is not None else "nobody"
    return _ic_save(row, f"assigned to {who}", assignee=assignee)


def _text(value: str, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{what} needs a written {field}.",
                               errors=[FieldError(field, "Required.", code="required")])
    return text


@transaction.atomic(durable=True)
def ic_difference_explain(*, actor, difference_id: int, explanation: str) -> IcDifference:
    """Say why the pair differs (a timing difference, a disputed invoice): open or explained ->
    explained. An explained difference no longer blocks the group's lock."""
    text = _text(explanation, "explanation", "Explaining a difference")
    row = _ic_locked(difference_id)
    if not _can_work_on(actor, row):
        raise PermissionDenied(f"You need close_periods on {row.group.top_entity.code} or prepare_entries on "
                               f"{row.entity.code} or {row.counterparty.code}.")
    if row.status == IcStatus.RESOLVED:
        raise IcDifferenceWrongStateError(f"Difference {row.pk} is resolved; a later run reopens it if it returns.")
    return _ic_save(row, "explained", status=IcStatus.EXPLAINED, explanation=text)


@transaction.atomic(durable=True)
def ic_difference_resolve(*, actor, difference_id: int, resolution: str) -> IcDifference:
    """Close a difference with how it was settled (a correcting entry, a write-off): -> resolved.
    A controller's act: close_periods on the group's top entity."""
    text = _text(resolution, "resolution", "Resolving a difference")
    row = _ic_locked(difference_id)
    require_entity_perm(actor, CLOSE, row.group.top_entity)
    if row.status == IcStatus.RESOLVED:
        raise IcDifferenceWrongStateError(f"Difference {row.pk} is already resolved.")
    return _ic_save(row, "resolved", status=IcStatus.RESOLVED, resolution=text)


@transaction.atomic(durable=True)
def ic_difference_comment(*, actor, difference_id: int, text: str) -> IcComment:
    body = _text(text, "text", "A comment")
    row = _ic_locked(difference_id)
    if not _can_work_on(actor, row):
        raise PermissionDenied(f"You need close_periods on {row.group.top_entity.code} or prepare_entries on "
                               f"{row.entity.code} or {row.counterparty.code}.")
    return IcComment.objects.create(organisation_id=row.organisation_id, difference=row, author=actor, text=body)


@transaction.atomic(durable=True)
def consolidation_group_period_lock(*, actor, group: ConsolidationGroup, period: Period) -> GroupPeriodLock:
    """Lock the group's period: refused while any intercompany difference of the period is still
    open (neither explained nor resolved), naming each; then every member must be locked
    (periods.services.group_lock). The group row is held first, so no run refreshes the worklist meanwhile."""
    require_entity_perm(actor, CLOSE, group.top_entity)
    locks.group_for_update().get(pk=group.pk)
    open_rows = list(IcDifference.objects.filter(group=group, period=period, status=IcStatus.OPEN)
                     .select_related("entity", "account", "counterparty", "counterparty_account").order_by("pk"))
    if open_rows:
        raise IcUnresolvedError(
            f"{len(open_rows)} intercompany difference(s) of {group.code} {period.code} are open: "
            + "; ".join(f"{d.entity.code} {d.account.code} / {d.counterparty.code} {d.counterparty_account.code} "
                        f"({d.difference})" for d in open_rows) + ". Explain or resolve them first.",
            errors=[FieldError("ic_differences", f"{d.entity.code} {d.account.code} / {d.counterparty.code} "
                                                 f"{d.counterparty_account.code} differs by {d.difference}.",
                               code="ic_difference_open", value=d.pk) for d in open_rows])
    members = [m.entity_id for m in selectors.group_members_at(group=group, on=period.end_date)]
    return group_period_lock(actor, members, period.pk, group_key=group.code)


@transaction.atomic(durable=True)
def consolidation_group_period_unlock(*, actor, group: ConsolidationGroup, period: Period,
                                      reason: str) -> None:
    """Remove the group's lock of the period with a written reason: reopen rights on the top entity
    first (then, in periods.services.group_lock, on every member); a period the group has not locked is a
    conflict, not a missing page."""
    require_entity_perm(actor, REOPEN, group.top_entity)
    if not GroupPeriodLock.objects.filter(group_key=group.code, period=period).exists():
        raise Conflict(f"{group.code} has not locked {period.code}.", code="group_not_locked")
    group_period_unlock(actor=actor, group_key=group.code, period_id=period.pk, reason=reason)
