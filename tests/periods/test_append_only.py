"""Lock snapshots and lock overrides are evidence: the application's role may not change them
(no privilege), and even the schema owner is refused by the append-only triggers."""
import psycopg
import pytest

from periods.models import LockOverride, PeriodLockSnapshot
from tests.ledger.helpers import build_world
from tests.locking import lock_through
from tests.periods.helpers import state

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked():
    from ledger.services.entries import journal_entry_create_and_post
    from periods.services.checklist import checklist_instantiate, checklist_template_create

    world = build_world("APPEND")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    template = checklist_template_create(actor=None, organisation=world.org, name="t", items=[{"title": "x"}])
    ep = world.entity_period("2026-03")
    checklist_instantiate(actor=None, entity_period_id=ep.pk, template_id=template.pk)
    lock_through(actor=None, entity_period_id=ep.pk, override_reason="audit deadline")
    return ep


ATTACKS = [
    ("periods_periodlocksnapshot", "UPDATE periods_periodlocksnapshot SET sha256 = repeat('0', 64)",
     "periods_snapshot_append_only"),
    ("periods_periodlocksnapshot", "UPDATE periods_periodlocksnapshot SET trial_balance = '[]'",
     "periods_snapshot_append_only"),
    ("periods_periodlocksnapshot", "DELETE FROM periods_periodlocksnapshot", "periods_snapshot_append_only"),
    ("periods_periodlocksnapshot", "TRUNCATE periods_periodlocksnapshot CASCADE", "periods_snapshot_append_only"),
    ("periods_lockoverride", "UPDATE periods_lockoverride SET reason = 'nothing to see'",
     "periods_override_append_only"),
    ("periods_lockoverride", "DELETE FROM periods_lockoverride", "periods_override_append_only"),
    ("periods_lockoverride", "TRUNCATE periods_lockoverride", "periods_override_append_only"),
]


@pytest.mark.parametrize(("table", "sql", "rule"), ATTACKS)
def test_evidence_rows_cannot_be_changed_by_app_or_owner(locked, app_sql, owner_sql, table, sql, rule):
    # January and February lock first (periods lock oldest first), then March with its override.
    assert PeriodLockSnapshot.objects.count() == 3 and LockOverride.objects.count() == 1
    before = state()
    # No scope needed: the privilege check refuses before row-level security is consulted.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_sql.execute(sql)
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation) as exc:
        owner_sql.execute(sql)
    assert exc.value.diag.constraint_name == rule
    assert state() == before
