"""Reports: as-of dates, ranges, moved accounts, and verify_balances after a random workload."""
import random
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.inputs import EntryInput, LineInput
from ledger.selectors.reports import balance_sheet, income_statement, trial_balance
from ledger.services.chart import account_move
from ledger.services.entries import journal_entry_create_and_post

pytestmark = pytest.mark.django_db


def post(world, amount, day, dr="1200", cr="4100"):
    return journal_entry_create_and_post(actor=None, entity=world.entity, entry=EntryInput(
        entry_date=day, description="x", lines=[LineInput(account_id=world.acc(dr), amount=Decimal(amount)),
                                                LineInput(account_id=world.acc(cr), amount=-Decimal(amount))])).entry


def leaf(tb, code):
    return next(((r.debit, r.credit) for r in tb.rows if r.code == code), (Decimal(0), Decimal(0)))


def test_as_of_date_includes_only_lines_up_to_that_date(world):
    post(world, "10", date(2026, 3, 5))
    post(world, "20", date(2026, 3, 20))
    march = world.period("2026-03")
    assert leaf(trial_balance(entity=world.entity, period=march, as_of=date(2026, 3, 10)), "1200")[0] == Decimal(10)
    assert leaf(trial_balance(entity=world.entity, period=march), "1200")[0] == Decimal(30)


def test_balance_sheet_is_cumulative_and_pl_is_year_to_date(world):
    post(world, "100", date(2026, 1, 15))
    post(world, "50", date(2026, 2, 15), dr="5100", cr="1100")
    feb = world.period("2026-02")
    pl = income_statement(entity=world.entity, period=feb)
    assert pl.totals == {"revenue": Decimal(100), "expense": Decimal(50), "net_income": Decimal(50)}
    bs = balance_sheet(entity=world.entity, period=feb)
    assert bs.totals["asset"] == Decimal(50) and bs.reconciles
    only_feb = income_statement(entity=world.entity, period=feb, period_from=feb)
    assert only_feb.totals["revenue"] == 0 and only_feb.totals["expense"] == Decimal(50)


def test_moving_an_account_changes_roll_up_not_figures(world):
    post(world, "75", date(2026, 3, 5))
    march = world.period("2026-03")
    before = trial_balance(entity=world.entity, period=march)
    account_move(actor=None, account_id=world.acc("1200"), parent_code="2000")
    after = trial_balance(entity=world.entity, period=march)
    assert leaf(after, "1200") == leaf(before, "1200") == (Decimal(75), Decimal(0))
    assert (after.total_debit, after.total_credit) == (before.total_debit, before.total_credit)
    assert leaf(after, "1000") == (Decimal(0), Decimal(0)) and leaf(after, "2000") == (Decimal(75), Decimal(0))


@pytest.mark.django_db(transaction=True)
def test_verify_balances_after_a_random_workload_then_detects_tampering(owner_sql, capsys):
    from tests.ledger.helpers import build_world

    world = build_world("VB")
    seed = random.randrange(10**6)
    print(f"seed={seed}")
    rng = random.Random(seed)
    codes = ["1100", "1200", "2100", "3100", "4100", "5100"]
    for _ in range(60):
        dr, cr = rng.sample(codes, 2)
        post(world, Decimal(rng.randrange(1, 10**7)) / 100, date(2026, rng.randrange(1, 13), rng.randrange(1, 28)),
             dr, cr)
    call_command("verify_balances", "--org", "VB")  # raises CommandError on any difference
    assert "0 differences" in capsys.readouterr().out
    # Only the schema owner can write balances (the app role has no right to): tamper as the owner.
    owner_sql.execute("UPDATE ledger_balance SET functional_debit = functional_debit + 0.0001 "
                      "WHERE id = (SELECT min(id) FROM ledger_balance)")
    with pytest.raises(CommandError, match="1 balance rows disagree"):
        call_command("verify_balances", "--org", "VB")
    assert "account=" in capsys.readouterr().err
