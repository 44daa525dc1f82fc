"""A posting and a lock of the same period serialise: after the lock commits no line commits
into the period, and everything that committed before it is in the locked figures."""
import threading
import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection

from ledger.models import JournalEntry
from ledger.selectors.lock_snapshots import lock_snapshot_verify, snapshot_hash, trial_balance_rows
from ledger.services.entries import journal_entry_create_and_post
from periods.models import PeriodLockSnapshot
from periods.services.transitions import entity_period_lock
from sheshi.errors import SheshiError
from tests.concurrency import run_threads
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
POSTERS = 5


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_lock_racing_postings_is_serialised(round_no):
    world = build_world(f"LR{round_no}")
    ep = world.entity_period("2026-03")
    for earlier in ("2026-01", "2026-02"):  # periods lock oldest first
        entity_period_lock(actor=None, entity_period_id=world.entity_period(earlier).pk)
    locked = threading.Event()
    outcomes: list[tuple[str, int | None]] = []
    outcome_lock = threading.Lock()

    def work(i: int) -> None:
        if i == POSTERS:  # the controller
            time.sleep(0.02)
            entity_period_lock(actor=None, entity_period_id=ep.pk, reason="race test")
            locked.set()
            return
        for n in range(40):
            try:
                entry = journal_entry_create_and_post(actor=None, entity=world.entity,
                                                      entry=world.sale(Decimal(i * 100 + n + 1))).entry
                with outcome_lock:
                    outcomes.append(("posted", entry.pk))
            except (SheshiError, DatabaseError) as exc:
                code = getattr(exc, "code", "") or str(exc)
                with outcome_lock:
                    outcomes.append(("refused", code))
                if locked.is_set():
                    return

    assert run_threads(POSTERS + 1, work) == []
    snap = PeriodLockSnapshot.objects.get(entity_period=ep)
    posted_ids = {pk for kind, pk in outcomes if kind == "posted"}
    refusals = {code for kind, code in outcomes if kind == "refused"}
    assert refusals <= {"period_locked"}, refusals
    # Every acknowledged posting is in the period, and nothing else is.
    assert set(JournalEntry.objects.filter(entity=world.entity, period=ep.period, status="posted")
               .values_list("pk", flat=True)) == posted_ids
    # The locked figures equal the snapshot the lock recorded, and still hash the same.
    rows = trial_balance_rows(entity_id=world.entity.pk, period_id=ep.period_id)
    assert rows == snap.trial_balance and snapshot_hash(rows) == snap.sha256
    assert snap.line_count == 2 * len(posted_ids)
    assert lock_snapshot_verify(entity_period_id=ep.pk)[0] is True
    with connection.cursor() as cur:  # no line of the period was committed after the lock
        cur.execute("SELECT count(*) FROM ledger_journalentry WHERE period_id = %s AND entity_id = %s "
                    "AND posted_at > %s", [ep.period_id, world.entity.pk, snap.taken_at])
        assert cur.fetchone()[0] == 0
