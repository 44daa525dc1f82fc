"""Management commands: each transition for one entity or --all, all or nothing, clear errors."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.models import FiscalYear, Period, PeriodLockSnapshot
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_generate_calendar_creates_thirteen_periods_and_opens_them(world):
    out = run("generate_calendar", "--org", "ACME", "--year", "2027")
    fy = FiscalYear.objects.get(organisation=world.org, code="FY2027")
    codes = list(fy.periods.order_by("number").values_list("code", flat=True))
    assert codes == [f"2027-{m:02d}" for m in range(1, 13)] + ["FY2027-13"]
    assert out.strip() == "ACME FY2027: 2027-01-01 – 2027-12-31, 13 periods (2027-01 … FY2027-13)"
    assert world.entity.entity_periods.filter(period__fiscal_year=fy, state="open").count() == 13


def test_generate_calendar_without_adjustment_period(world):
    run("generate_calendar", "--org", "ACME", "--year", "2028", "--no-adjustment")
    numbers = Period.objects.filter(fiscal_year__code="FY2028").values_list("number", flat=True)
    assert list(numbers) == list(range(1, 13))


def test_generate_calendar_unknown_org_is_a_clear_error(world):
    with pytest.raises(CommandError, match=r"No organisation with code 'NOPE'\. \[not_found\]"):
        run("generate_calendar", "--org", "NOPE", "--year", "2027")


def test_close_then_lock_one_entity(world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    assert run("close_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-03") == \
        "ACME-DE 2026-03: soft-closed\n"
    for earlier in ("2026-01", "2026-02"):  # periods lock oldest first
        run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", earlier)
    out = run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-03")
    snap = PeriodLockSnapshot.objects.get(entity_period=world.entity_period("2026-03"))
    assert out == f"ACME-DE 2026-03: locked (snapshot {snap.sha256[:16]}…, 2 lines)\n"
    assert world.entity_period("2026-03", world.other).state == "open"


def test_lock_all_entities(world):
    out = run("lock_period", "--org", "ACME", "--all", "--period", "2026-01")
    assert [ln.split(":")[0] for ln in out.splitlines()] == ["ACME-DE 2026-01", "ACME-US 2026-01"]
    assert {world.entity_period("2026-01", e).state for e in (world.entity, world.other)} == {"locked"}


def test_lock_already_locked_period_is_refused_and_nothing_changes(world):
    run("lock_period", "--org", "ACME", "--all", "--period", "2026-01")
    run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-02")
    before = state()
    with pytest.raises(CommandError) as exc:
        run("lock_period", "--org", "ACME", "--all", "--period", "2026-02")
    assert "ACME-DE/2026-02: Period 2026-02 of ACME-DE is already locked." in str(exc.value)
    assert "[period_batch_refused]" in str(exc.value)
    # ACME-US could have locked but did not: all or nothing.
    assert state() == before
    assert world.entity_period("2026-02", world.other).state == "open"


def test_lock_with_unposted_drafts_lists_them_and_changes_nothing(world):
    d1 = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("5")).entry
    d2 = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("6")).entry
    before = state()
    with pytest.raises(CommandError) as exc:
        run("lock_period", "--org", "ACME", "--all", "--period", "2026-03")
    text = str(exc.value)
    assert "2 unposted entries remain in 2026-03" in text
    assert f"ACME-DE/2026-03.entries: Entry {d1.pk} is not posted." in text
    assert f"ACME-DE/2026-03.entries: Entry {d2.pk} is not posted." in text
    assert state() == before


def test_entity_not_in_organisation_is_a_clear_error(world):
    from tests.factories import EntityFactory, OrganisationFactory

    EntityFactory(organisation=OrganisationFactory(code="OTHER"), code="OTHER-FR")
    before = state()
    with pytest.raises(CommandError, match=r"Entity OTHER-FR is not in organisation ACME\."):
        run("lock_period", "--org", "ACME", "--entity", "OTHER-FR", "--period", "2026-03")
    assert state() == before


def test_a_month_locks_only_after_the_months_before_it(world):
    before = state()
    with pytest.raises(CommandError) as exc:
        run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-03")
    assert "cannot lock while the earlier period 2026-01 is open for this entity" in str(exc.value)
    assert state() == before


def test_reopening_a_month_needs_the_later_locked_months_reopened_first(world):
    run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01")
    run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-02")
    before = state()
    with pytest.raises(CommandError) as exc:
        run("reopen_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01", "--reason", "late bill")
    assert "cannot reopen while the later period 2026-02 is locked" in str(exc.value)
    assert state() == before


def test_unknown_period_is_a_clear_error(world):
    with pytest.raises(CommandError, match=r"Period 2031-03 does not exist in organisation ACME\."):
        run("close_period", "--org", "ACME", "--all", "--period", "2031-03")


def test_reopen_needs_a_reason(world):
    run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01")
    before = state()
    with pytest.raises(CommandError, match=r"reopen_period needs --reason .*\[reason_required\]"):
        run("reopen_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01")
    with pytest.raises(CommandError, match=r"\[reason_required\]"):
        run("reopen_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01", "--reason", "   ")
    assert state() == before


def test_reopen_with_reason_records_it(world):
    run("lock_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01")
    out = run("reopen_period", "--org", "ACME", "--entity", "ACME-DE", "--period", "2026-01",
              "--reason", "auditor adjustment", "--to", "soft_closed")
    assert out == "ACME-DE 2026-01: soft-closed\n"
    ep = world.entity_period("2026-01")
    assert (ep.state, ep.reason) == ("soft_closed", "auditor adjustment")
    assert ep.history.first().history_change_reason == "auditor adjustment"


def test_commands_act_as_a_named_system_actor(world):
    from django.db import connection

    seen = {}

    def spy(*a, **kw):
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('sheshi.actor_label', true), current_setting('sheshi.org_ids', true)")
            seen["ctx"] = cur.fetchone()
        return real(*a, **kw)

    import periods.cli as cli

    real = cli.entity_periods_move
    cli.entity_periods_move = spy
    try:
        run("close_period", "--org", "ACME", "--all", "--period", "2026-04")
    finally:
        cli.entity_periods_move = real
    assert seen["ctx"] == ("system:close_period", "*")
