"""Concurrent posting from several threads leaves balances equal to a recomputation from lines."""
import random
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from ledger.inputs import EntryInput, LineInput
from ledger.services.entries import journal_entry_create_and_post
from tests.concurrency import run_threads
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db(transaction=True)

RECOMPUTE_DIFF = """
    WITH lines AS (
        SELECT l.entity_id, l.account_id, l.period_id, l.currency, sum(l.amount) AS amount,
               sum(greatest(l.functional_amount, 0)) AS d, sum(greatest(-l.functional_amount, 0)) AS c,
               count(*) AS n
          FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id AND e.status = 'posted'
         GROUP BY 1, 2, 3, 4)
    SELECT count(*) FROM lines FULL JOIN ledger_balance b USING (entity_id, account_id, period_id, currency)
     WHERE lines.amount IS DISTINCT FROM b.amount OR lines.d IS DISTINCT FROM b.functional_debit
        OR lines.c IS DISTINCT FROM b.functional_credit OR lines.n IS DISTINCT FROM b.line_count"""


def test_concurrent_posting_keeps_balances_equal_to_lines():
    world = build_world("RACE")
    seed = random.randrange(1_000_000)
    print(f"seed={seed}")
    accounts = [world.acc(c) for c in ("1100", "1200", "2100", "4100", "5100")]
    per_thread = 15

    def post(i: int) -> None:
        rng = random.Random(seed + i)
        for _ in range(per_thread):
            a, b = rng.sample(accounts, 2)
            amount = Decimal(rng.randrange(1, 10**8)) / 10000
            entry = EntryInput(entry_date=date(2026, rng.randrange(1, 13), 1), description="race", lines=[
                LineInput(account_id=a, amount=amount), LineInput(account_id=b, amount=-amount)])
            journal_entry_create_and_post(actor=None, entity=world.entity, entry=entry)

    errors = run_threads(6, post)
    assert errors == []
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_journalentry WHERE status = 'posted'")
        assert cur.fetchone()[0] == 6 * per_thread
        cur.execute(RECOMPUTE_DIFF)
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT sum(functional_debit - functional_credit) FROM ledger_balance")
        assert cur.fetchone()[0] == 0


def test_bulk_posting_that_waits_for_a_period_lock_is_stamped_after_the_wait(owner_sql):
    """posted_at is the time the batch could post, not when it started: a batch that waited on a
    period being locked (which then gave up) carries a time after the wait."""
    import threading
    import time

    from django.utils import timezone

    from ledger.services.bulk import journal_entries_post_bulk

    world = build_world("WAIT")
    ep = world.entity_period("2026-03")
    owner_sql.execute("BEGIN")
    owner_sql.execute("SELECT 1 FROM periods_entityperiod WHERE id = %s FOR UPDATE", [ep.pk])
    released = []

    def release() -> None:
        time.sleep(1.0)
        released.append(timezone.now())
        owner_sql.execute("ROLLBACK")

    t = threading.Thread(target=release)
    t.start()
    result = journal_entries_post_bulk(actor=None, entity=world.entity, entries=[world.sale("12.5")])
    t.join()
    from ledger.models import JournalEntry

    posted_at = JournalEntry.objects.get(pk=result.first_entry_id).posted_at
    assert posted_at >= released[0]
