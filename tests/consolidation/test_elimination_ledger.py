"""A successful run posts its eliminations as system entries of the group's elimination ledger:
balanced, in the group currency, equal by account to the run's eliminations; a re-run replaces
them (reversal + new entries); a locked period refuses the posting but keeps the results; the
members' books never change; the ledger can never be a member. Also: a run whose worker died is
restarted by the redelivered task."""
from __future__ import annotations

import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consolidation.errors import RunNotInStateError
from consolidation.models import ConsolidationGroup, ConsolidationRun, GroupMember, RunStatus
from consolidation.services import posting
from consolidation.services.posting import elimination_ledger_ensure
from consolidation.services.runs import _transition, consolidation_run_request, group_member_add
from consolidation.tasks import consolidation_run_task
from ledger.models import EntrySource, EntryStatus, JournalEntry, JournalLine
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.errors import ValidationFailed, from_db_error
from sheshi.jobs.timeouts import job_stale_after
from tests.consolidation.helpers import CASES_DIR
from tests.locking import lock_through
from tests.rules import raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    call_command("load_group_pack", str(CASES_DIR / "unrealised_profit.json"), "--org", "URP", stdout=io.StringIO())
    return ConsolidationGroup.objects.select_related("organisation", "top_entity").get(organisation__code="URP")


@pytest.fixture
def period(group):
    return Period.objects.get(organisation=group.organisation, code="2024-12")


def run_once(group, period) -> ConsolidationRun:
    # on_commit does not fire inside the test transaction: run it here, as the task does
    run = consolidation_run_request(actor=None, group=group, period=period)
    consolidation_run_task(run.pk)
    return ConsolidationRun.objects.get(pk=run.pk)


def ledger_tb(entity_id: int, period_id: int) -> dict[str, Decimal]:
    with connection.cursor() as cur:
        cur.execute("""SELECT a.code, sum(b.functional_debit - b.functional_credit)
                         FROM ledger_balance b JOIN ledger_account a ON a.id = b.account_id
                        WHERE b.entity_id = %s AND b.period_id = %s GROUP BY a.code""", [entity_id, period_id])
        return {code: amount for code, amount in cur.fetchall() if amount != 0}


def eliminations_by_account(results: dict) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for elim in results["eliminations"]:
        for p in elim["postings"]:
            assert "exact" not in p  # the case has no fractions of a cent: posted amounts are the exact ones
            out[p["account"]] += Decimal(p["amount"])
    return {k: v for k, v in out.items() if v != 0}


def members_books(group) -> tuple:
    ids = list(GroupMember.objects.filter(group=group).values_list("entity_id", flat=True))
    with connection.cursor() as cur:
        cur.execute("""SELECT entity_id, period_id, account_id, currency, functional_debit, functional_credit,
                              line_count FROM ledger_balance WHERE entity_id = ANY(%s) ORDER BY 1, 2, 3, 4""", [ids])
        balances = cur.fetchall()
    entries = list(JournalEntry.objects.filter(entity_id__in=ids).order_by("pk").values_list("pk", "status", "source"))
    return balances, entries


def standing_eliminations(entity_id: int, period_id: int) -> list[int]:
    return list(JournalEntry.objects.filter(entity_id=entity_id, period_id=period_id, source=EntrySource.ELIMINATION,
                                            reversed_by__isnull=True).order_by("pk").values_list("pk", flat=True))


def test_successful_run_posts_each_elimination_as_a_balanced_system_entry_of_the_elimination_ledger(group, period):
    run = run_once(group, period)
    group.refresh_from_db()
    ledger = group.elimination_entity
    assert run.status == RunStatus.SUCCEEDED and run.posting_error is None
    assert (ledger.code, ledger.name, ledger.functional_currency) == ("GROUP-ELIM", "Elimination ledger of "
                                                                      + group.name, "EUR")
    assert ledger.organisation_id == group.organisation_id
    assert EntityPeriod.objects.get(entity=ledger, period=period).state == PeriodState.OPEN
    expected = [e for e in run.results["eliminations"] if e["postings"]]
    assert len(expected) >= 3
    entries = list(JournalEntry.objects.filter(entity=ledger).order_by("pk"))
    assert [e.pk for e in entries] == run.posted_entry_ids
    assert len(entries) == len(expected)
    for entry, elim in zip(entries, expected, strict=True):
        assert (entry.source, entry.status, entry.period_id, entry.entry_date) == (
            EntrySource.ELIMINATION, EntryStatus.POSTED, period.pk, period.end_date)
        assert (entry.created_by_id, entry.posted_by_id) == (None, None)
        lines = list(entry.lines.select_related("account").order_by("line_no"))
        assert sum(ln.functional_amount for ln in lines) == 0
        assert {ln.currency for ln in lines} == {"EUR"}
        assert [(ln.account.code, ln.functional_amount, ln.dimensions) for ln in lines] == [
            (p["account"], Decimal(p["amount"]), {"member": p["entity"], "elimination": elim["kind"],
                                                  "ref": elim["ref"]})
            for p in elim["postings"]]
    # never a member, never consolidated as one
    assert not GroupMember.objects.filter(entity=ledger).exists()
    assert ledger.code not in run.results["effective_interest"]
    assert ledger.code not in run.results["member_balances"]


def test_elimination_ledger_trial_balance_equals_the_runs_eliminations_by_account(group, period):
    run = run_once(group, period)
    ledger_id = ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id
    expected = eliminations_by_account(run.results)
    assert expected  # the case has eliminations
    assert ledger_tb(ledger_id, period.pk) == expected


def test_members_books_are_never_touched(group, period):
    before = members_books(group)
    run_once(group, period)
    run_once(group, period)
    assert members_books(group) == before
    ledger_id = ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id
    assert set(JournalLine.objects.filter(entry__source=EntrySource.ELIMINATION)
               .values_list("entity_id", flat=True)) == {ledger_id}


def test_rerun_reverses_the_previous_entries_and_reposts_with_the_net_effect_of_one_run(group, period):
    first = run_once(group, period)
    ledger_id = ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id
    tb_once = ledger_tb(ledger_id, period.pk)
    second = run_once(group, period)
    assert second.status == RunStatus.SUCCEEDED and second.posting_error is None
    assert second.fingerprint == first.fingerprint
    reversals = list(JournalEntry.objects.filter(pk__in=second.reversal_entry_ids).order_by("pk"))
    assert [r.reverses_id for r in reversals] == first.posted_entry_ids
    assert {(r.source, r.status, r.period_id) for r in reversals} == {(EntrySource.REVERSAL, EntryStatus.POSTED,
                                                                       period.pk)}
    assert set(second.posted_entry_ids).isdisjoint(first.posted_entry_ids)
    assert len(second.posted_entry_ids) == len(first.posted_entry_ids)
    assert standing_eliminations(ledger_id, period.pk) == second.posted_entry_ids
    assert ledger_tb(ledger_id, period.pk) == tb_once == eliminations_by_account(second.results)
    third = run_once(group, period)
    assert [JournalEntry.objects.get(pk=r).reverses_id for r in third.reversal_entry_ids] == second.posted_entry_ids
    assert ledger_tb(ledger_id, period.pk) == tb_once


def test_locked_period_refuses_the_posting_but_stores_the_results(group, period):
    first = run_once(group, period)
    ledger_id = ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id
    ep = EntityPeriod.objects.get(entity_id=ledger_id, period=period)
    lock_through(actor=None, entity_period_id=ep.pk)
    tb_before, entries_before = ledger_tb(ledger_id, period.pk), JournalEntry.objects.count()
    second = run_once(group, period)
    assert second.status == RunStatus.SUCCEEDED
    assert (second.results, second.fingerprint) == (first.results, first.fingerprint)
    assert (second.posted_entry_ids, second.reversal_entry_ids) == ([], [])
    assert second.posting_error["code"] == "elimination_period_locked"
    assert "GROUP-ELIM" in second.posting_error["detail"] and "locked" in second.posting_error["detail"]
    assert (ledger_tb(ledger_id, period.pk), JournalEntry.objects.count()) == (tb_before, entries_before)
    assert standing_eliminations(ledger_id, period.pk) == first.posted_entry_ids


def test_failure_while_posting_leaves_nothing_half_written(group, period, monkeypatch):
    first = run_once(group, period)
    ledger_id = ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id
    tb_before, entries_before = ledger_tb(ledger_id, period.pk), JournalEntry.objects.count()

    def broken(**kwargs):
        raise ValidationFailed("Simulated refusal after the reversals.")

    monkeypatch.setattr(posting, "journal_entries_post_bulk", broken)
    second = run_once(group, period)
    assert second.status == RunStatus.FAILED and second.results is None
    assert second.error["detail"] == "Simulated refusal after the reversals."
    assert (second.posted_entry_ids, second.reversal_entry_ids) == ([], [])
    assert (ledger_tb(ledger_id, period.pk), JournalEntry.objects.count()) == (tb_before, entries_before)
    assert standing_eliminations(ledger_id, period.pk) == first.posted_entry_ids


def test_elimination_ledger_cannot_become_a_member_or_parent(group):
    ledger = elimination_ledger_ensure(group_id=group.pk)
    before = list(GroupMember.objects.order_by("pk").values_list("pk", "entity_id", "parent_id"))
    for entity_col in ("entity_id", "parent_id"):
        other = group.top_entity_id
        entity_id, parent_id = (ledger.pk, other) if entity_col == "entity_id" else (
            GroupMember.objects.exclude(entity=group.top_entity).values_list("entity_id", flat=True)[0], ledger.pk)
        with pytest.raises(DatabaseError) as exc, transaction.atomic():
            raw("""INSERT INTO consolidation_groupmember (organisation_id, group_id, entity_id, parent_id,
                          ownership_pct, acquired_on, method, valid, created_at)
                   VALUES (%s, %s, %s, %s, 100, '2024-01-01', 'full', '[2030-01-01,)', now())""",
                [group.organisation_id, group.pk, entity_id, parent_id])
        assert exc.value.__cause__.diag.constraint_name == "consolidation_elimination_ledger_not_member"
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        group_member_add(actor=None, group=group, entity=ledger, parent=group.top_entity,
                         ownership_pct=Decimal(100), acquired_on=period_start(group))
    mapped = from_db_error(exc.value)
    assert (mapped.code, mapped.status) == ("elimination_ledger_not_member", 409)
    assert list(GroupMember.objects.order_by("pk").values_list("pk", "entity_id", "parent_id")) == before


def period_start(group):
    return Period.objects.filter(organisation=group.organisation).order_by("start_date")[0].start_date


def test_a_member_cannot_become_an_elimination_ledger(group):
    member = GroupMember.objects.exclude(entity=group.top_entity).values_list("entity_id", flat=True)[0]
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw("UPDATE consolidation_consolidationgroup SET elimination_entity_id = %s WHERE id = %s", [member, group.pk])
    assert exc.value.__cause__.diag.constraint_name == "consolidation_elimination_ledger_not_member"
    assert ConsolidationGroup.objects.get(pk=group.pk).elimination_entity_id is None


def test_run_left_running_by_a_lost_worker_is_restarted_by_the_redelivered_task(group, period):
    run = consolidation_run_request(actor=None, group=group, period=period)
    lost_start = timezone.now() - job_stale_after() - timedelta(seconds=1)
    _transition(run.pk, RunStatus.QUEUED, status=RunStatus.RUNNING, started_at=lost_start, attempt=1, progress=40)
    consolidation_run_task(run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 2)
    assert run.started_at > lost_start and run.posted_entry_ids
    notes = list(run.history.order_by("history_id").values_list("status", "progress_note"))
    assert ("running", "reading (restarted: the previous worker was lost)") in notes
    # the lost attempt, were it still alive, can no longer move the run
    with pytest.raises(RunNotInStateError):
        _transition(run.pk, RunStatus.SUCCEEDED, as_attempt=1, progress_note="zombie")
    assert ConsolidationRun.objects.get(pk=run.pk).progress_note == "done"


def test_run_running_under_a_live_worker_is_left_alone_by_a_redelivery(group, period):
    run = consolidation_run_request(actor=None, group=group, period=period)
    started = timezone.now() - job_stale_after() + timedelta(seconds=60)
    _transition(run.pk, RunStatus.QUEUED, status=RunStatus.RUNNING, started_at=started, attempt=1, progress=40)
    history = run.history.count()
    consolidation_run_task(run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempt, run.started_at, run.progress) == (RunStatus.RUNNING, 1, started, 40)
    assert run.history.count() == history
    assert not JournalEntry.objects.filter(source=EntrySource.ELIMINATION).exists()


def test_the_new_elimination_ledger_opens_its_own_periods_and_no_other_entitys(group):
    """elimination_ledger_ensure opens the calendar for the ledger it creates, not for the whole
    organisation: that statement fired the entity-period row triggers for every entity's every
    period (0.2 s of a 50-member group's first run) and opened periods of entities nobody asked for."""
    from sheshi.tenancy.models import Entity

    bystander = Entity.objects.create(organisation_id=group.organisation_id, code="BYSTANDER", name="Bystander",
                                      functional_currency="EUR", country="DE")
    ledger = elimination_ledger_ensure(group_id=group.pk)
    periods = set(Period.objects.filter(organisation_id=group.organisation_id).values_list("pk", flat=True))
    opened = dict(EntityPeriod.objects.filter(entity=ledger).values_list("period_id", "state"))
    assert opened == dict.fromkeys(periods, PeriodState.OPEN)
    assert not EntityPeriod.objects.filter(entity=bystander).exists()
