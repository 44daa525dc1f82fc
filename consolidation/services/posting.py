"""The group's consolidation ledger (its elimination ledger) and what a successful run posts there.

A run posts its consolidation journals (consolidation/selectors/journals.py) as posted system entries of the
group's elimination ledger, in the group currency, dated on the period end: one translation
journal per foreign member (source ``translation``), one entry per elimination (investment,
intercompany, unrealised profit, NCI) and the rounding cents (source ``elimination``). With the
members' ledgers at their closing rates they add up to the run's consolidated TB to the cent.
Members' books are never written. Before posting, the system entries still standing from earlier
runs of the same group and period are reversed, so the ledger always holds exactly one run's
journals; manual adjustments posted there by a controller (consolidation/adjustments.py) stand
and are read by the next run. A locked period refuses the posting as a whole (nothing is
reversed or posted; the run keeps its results and says why). Everything here runs inside the
caller's transaction: the run's success and its entries commit together or not at all.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction

from consolidation import locks
from consolidation.errors import EliminationLedgerCodeTakenError
from consolidation.models import ConsolidationRun
from consolidation.models.groups import ELIMINATION_LEDGER_SUFFIX
from consolidation.selectors.journals import MANUAL, Journal, journals_in_order
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, EntrySource, EntryStatus, JournalEntry
from ledger.services.bulk import journal_entries_post_bulk
from ledger.services.bulk_reversal import journal_entries_reverse_posted_bulk
from periods import locks as period_locks
from periods.models import PeriodState
from periods.services.transitions import entity_periods_open
from sheshi.tenancy.models import Entity


def elimination_ledger_code(group_code: str) -> str:
    """``<GROUPCODE>-ELIM``, the group code shortened so the whole fits an entity code (32)."""
    return group_code[: 32 - len(ELIMINATION_LEDGER_SUFFIX)] + ELIMINATION_LEDGER_SUFFIX


@transaction.atomic
def elimination_ledger_ensure(*, group_id: int) -> Entity:
    """The group's elimination ledger, created on first use: a system entity of the group's
    organisation in the group currency, with its periods opened like every entity's. Holds the
    group row FOR NO KEY UPDATE (until the caller's transaction ends), which also serialises the posting
    of runs of one group. Manual adjustments there need approval (four eyes); the runs' system
    journals do not."""
    group = (locks.group_for_update()
             .select_related("organisation", "top_entity", "elimination_entity").get(pk=group_id))
    if group.elimination_entity_id is not None:
        return group.elimination_entity
    org = group.organisation
    code = elimination_ledger_code(group.code)
    try:
        with transaction.atomic():
            entity = Entity.objects.create(organisation=org, code=code,
                                           name=f"Elimination ledger of {group.name}"[:200],
                                           functional_currency=org.group_currency, country=group.top_entity.country,
                                           approval_required_sources=[EntrySource.MANUAL])
    except IntegrityError as exc:
        if "entity_code_unique_in_org" in str(exc):
            raise EliminationLedgerCodeTakenError(
                f"Entity code {code} is already used in {org.code}; the elimination ledger of group {group.code} "
                "needs it.") from exc
        raise
    group.elimination_entity = entity
    group.save(update_fields=["elimination_entity", "updated_at"])
    entity_periods_open(organisation=org, entity=entity)
    return entity


@dataclass
class PostingOutcome:
    posted_entry_ids: list[int] = field(default_factory=list)
    reversal_entry_ids: list[int] = field(default_factory=list)
    error: dict[str, Any] | None = None


SYSTEM_SOURCES = (EntrySource.ELIMINATION, EntrySource.TRANSLATION)


def _entry_inputs(run: ConsolidationRun, journals: Iterable[Journal], account_ids: dict[str, int],
                  group_code: str) -> Iterator[EntryInput]:
    """An entry per journal (source ``translation`` or ``elimination``), one line per journal line,
    tagged with the member it belongs to (already rounded to the cent and balanced by
    consolidation/selectors/journals.py). One at a time, as the bulk path asks for them."""
    period = run.period
    for journal in journals:
        tags: dict[str, tuple[dict, str]] = {}  # member -> its lines' dimensions and memo, shared (built once)
        lines = []
        for member, account, amount in journal.lines:
            tag = tags.get(member)
            if tag is None:
                tag = tags[member] = ({"member": member, "elimination": journal.kind, "ref": journal.ref},
                                      f"{journal.kind} {journal.ref} ({member})"[:500])
            lines.append(LineInput(account_id=account_ids[account], amount=amount, dimensions=tag[0], memo=tag[1]))
        if len(lines) < 2:
            continue
        yield EntryInput(
            entry_date=period.end_date, period_id=period.pk, lines=lines,
            source=EntrySource.TRANSLATION if journal.kind == "translation" else EntrySource.ELIMINATION,
            description=f"Consolidation run {run.pk} of {group_code} {period.code}: {journal.description}"[:500])


def run_eliminations_post(*, run: ConsolidationRun, results: dict[str, Any]) -> PostingOutcome:
    """Replace the consolidation journals standing in the group's elimination ledger for the run's
    period by this run's (translation, eliminations, rounding). Must run inside the transaction
    that records the run's success."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("run_eliminations_post must run inside the run's transaction.")
    entity = elimination_ledger_ensure(group_id=run.group_id)
    period = run.period
    # FOR SHARE on the entity-period: its state cannot change until we commit (a lock waits for us).
    state = period_locks.entity_period_share_lock(entity_id=entity.pk, period_id=period.pk)
    if state not in (PeriodState.OPEN, PeriodState.SOFT_CLOSED):
        code = "period_locked" if state == PeriodState.LOCKED else "period_not_open"
        return PostingOutcome(error={
            "code": f"elimination_{code}",
            "detail": f"Period {period.code} of the elimination ledger {entity.code} is {state or 'not open'}: "
                      "the run's eliminations were not posted (the entries already there stand).",
        })
    if state == PeriodState.SOFT_CLOSED:
        # The system posts its eliminations into a soft-closed period as a controller would (the
        # database checks this transaction-local flag; ledger services set it the same way).
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('sheshi.close_privilege', 'on', true)")
    standing = list(JournalEntry.objects.filter(entity=entity, period=period, source__in=SYSTEM_SOURCES,
                                                status=EntryStatus.POSTED, reversed_by__isnull=True)
                    .order_by("pk").values_list("pk", "entry_date"))
    outcome = PostingOutcome()
    # Every standing entry is dated on the period end (as this run's are): one set-based reversal
    # for all of them (one at a time, reversing a large group's journals took most of a re-run).
    for entry_date in sorted({on for _pk, on in standing}):
        ids = [pk for pk, on in standing if on == entry_date]
        outcome.reversal_entry_ids += journal_entries_reverse_posted_bulk(
            actor=None, entity=entity, entry_ids=ids, entry_date=entry_date, period_id=period.pk,
            descriptions=[f"Consolidation run {run.pk} replaces elimination entry {pk}" for pk in ids])
    # The journals' accounts are not known until the last journal is built: the organisation's chart.
    account_ids = dict(Account.objects.filter(organisation_id=run.organisation_id).values_list("code", "pk"))
    journals = (j for j in journals_in_order(results, {}) if j.kind != MANUAL)  # manual ones stand already
    entries = _entry_inputs(run, journals, account_ids, run.group.code)
    # One batch for the translation and the elimination journals (each entry carries its source),
    # handed over as a generator: the bulk path posts the first chunk (translation) while this
    # thread builds the next journals. Translation comes first, so the ids run translation then
    # eliminations, as the journals do.
    result = journal_entries_post_bulk(actor=None, entity=entity, source=EntrySource.ELIMINATION, entries=entries)
    outcome.posted_entry_ids += result.entry_ids()
    return outcome
