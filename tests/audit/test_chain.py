"""The hash chain: sealed at commit, gap-free per organisation under concurrent writers, and every
kind of tampering (edit, delete, reorder) is found and located by the verifier."""
import contextlib
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.canonical import GENESIS_HASH, link_hash
from audit.models import AuditChainHead, AuditChainLink, AuditEvent
from audit.selectors.verify import chain_verify
from sheshi.db.context import system_context
from sheshi.tenancy.models import Entity
from tests.conftest import requires_role_split
from tests.factories import EntityFactory, OrganisationFactory

pytestmark = [requires_role_split]


def _chain(org_id: int) -> list[tuple[int, int]]:
    return list(AuditChainLink.objects.filter(organisation_id=org_id).order_by("seq").values_list("seq", "event_id"))


@pytest.mark.django_db
def test_events_are_sealed_only_at_commit():
    org = OrganisationFactory()
    assert AuditEvent.objects.filter(organisation_id=org.pk).count() == 1
    assert _chain(org.pk) == []  # the test's transaction has not committed
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS audit_seal IMMEDIATE")
    EntityFactory(organisation=org)
    events = list(AuditEvent.objects.filter(organisation_id=org.pk).order_by("id").values_list("id", flat=True))
    assert _chain(org.pk) == [(1, events[0]), (2, events[1])]
    assert chain_verify(org.pk).intact


@pytest.mark.django_db(transaction=True)
def test_chain_links_every_event_in_order_with_hashes_that_recompute():
    org = OrganisationFactory()
    entity = EntityFactory(organisation=org)
    with transaction.atomic():
        entity.name = "Renamed"
        entity.save(update_fields=["name"])
        EntityFactory(organisation=org)
    links = list(AuditChainLink.objects.filter(organisation_id=org.pk).order_by("seq"))
    events = {e.id: e for e in AuditEvent.objects.filter(organisation_id=org.pk)}
    assert [link.seq for link in links] == [1, 2, 3, 4]
    assert sorted(link.event_id for link in links) == sorted(events)
    prev = GENESIS_HASH
    for link in links:
        assert link.prev_hash == prev
        assert link.hash == link_hash(events[link.event_id].content_hash, prev)
        prev = link.hash
    head = AuditChainHead.objects.get(organisation_id=org.pk)
    assert (head.seq, head.hash, head.event_id) == (4, prev, links[-1].event_id)
    report = chain_verify(org.pk)
    assert (report.intact, report.count, report.head_hash) == (True, 4, prev)


@pytest.mark.django_db(transaction=True)
def test_chain_is_gap_free_and_verifies_after_concurrent_writers_in_two_orgs():
    orgs = [OrganisationFactory().pk, OrganisationFactory().pk]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(worker: int) -> None:
        try:
            with system_context(f"tests:writer{worker}"):
                barrier.wait()
                for i in range(15):
                    with transaction.atomic():
                        first, second = (orgs if (worker + i) % 2 else orgs[::-1])
                        e = Entity.objects.create(organisation_id=first, code=f"W{worker}-{i}", name="n",
                                                  functional_currency="EUR", country="DE")
                        e.name = "renamed"
                        e.save(update_fields=["name"])
                        if i % 3 == 0:  # some transactions touch both organisations, in either order
                            Entity.objects.create(organisation_id=second, code=f"X{worker}-{i}", name="n",
                                                  functional_currency="EUR", country="DE")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for org_id in orgs:
        n_events = AuditEvent.objects.filter(organisation_id=org_id).count()
        assert [seq for seq, _ in _chain(org_id)] == list(range(1, n_events + 1))
        report = chain_verify(org_id)
        assert (report.intact, report.count) == (True, n_events), report.summary()
    total = sum(AuditEvent.objects.filter(organisation_id=o).count() for o in orgs)
    assert total == 2 + 4 * 15 * 2 + 4 * 5  # org inserts, insert+update per txn, the extra cross-org inserts


@contextlib.contextmanager
def _tampering(owner_sql):
    """As a superuser would: switch the append-only triggers off, change rows, switch them on."""
    owner_sql.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    owner_sql.execute("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only")
    try:
        yield owner_sql
    finally:
        owner_sql.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        owner_sql.execute("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only")


@pytest.fixture
def sealed_org():
    """An organisation with a sealed chain of 6 events (each write commits on its own)."""
    org = OrganisationFactory(code="TAMPER")
    for i in range(5):
        EntityFactory(organisation=org, code=f"T{i}")
    report = chain_verify(org.pk)
    assert (report.intact, report.count) == (True, 6)
    return org


def _at(org_id: int, seq: int) -> int:
    return AuditChainLink.objects.get(organisation_id=org_id, seq=seq).event_id


def _failure(org_id: int):
    report = chain_verify(org_id)
    assert not report.intact
    return report.failure


@pytest.mark.django_db(transaction=True)
def test_verify_audit_command_reports_intact_chain_with_count_and_head(sealed_org, capsys):
    call_command("verify_audit", "--org", "TAMPER")
    head = AuditChainHead.objects.get(organisation_id=sealed_org.pk).hash
    assert capsys.readouterr().out.strip() == f"TAMPER: intact: 6 events, head {head}"


@pytest.mark.django_db(transaction=True)
def test_edited_event_is_found_and_located(sealed_org, owner_sql, capsys):
    victim = _at(sealed_org.pk, 3)
    with _tampering(owner_sql) as sql:
        sql.execute("UPDATE audit_event SET changes = jsonb_set(changes, '{after,name}', '\"Forged\"') WHERE id = %s",
                    [victim])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("content_changed", 3, victim)
    with pytest.raises(CommandError):
        call_command("verify_audit", "--org", "TAMPER")
    assert f"TAMPER: FAILED: content changed: event {victim} (seq 3)" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_edited_event_with_recomputed_content_hash_is_found_and_located(sealed_org, owner_sql):
    victim = _at(sealed_org.pk, 4)
    with _tampering(owner_sql) as sql:
        sql.execute("""UPDATE audit_event SET actor_label = 'someone-else',
                         content_hash = audit_content_hash(organisation_id, occurred_at, txid, actor_id, 'someone-else',
                           request_id, client_addr, action, object_type, object_id, changes)
                       WHERE id = %s""", [victim])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("content_changed", 4, victim)
    assert failure.message == f"content changed: event {victim} (seq 4) does not match its chain hash"


@pytest.mark.django_db(transaction=True)
def test_deleted_event_and_its_link_are_found_as_a_gap(sealed_org, owner_sql):
    victim, successor = _at(sealed_org.pk, 2), _at(sealed_org.pk, 3)
    with _tampering(owner_sql) as sql:
        sql.execute("DELETE FROM audit_chain WHERE event_id = %s", [victim])
        sql.execute("DELETE FROM audit_event WHERE id = %s", [victim])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("gap", 2, successor)
    assert failure.message == f"gap: seq 2 missing — the chain jumps from seq 1 to seq 3 (event {successor})"


@pytest.mark.django_db(transaction=True)
def test_deleted_event_row_is_found_as_missing(sealed_org, owner_sql):
    victim = _at(sealed_org.pk, 5)
    with _tampering(owner_sql) as sql:
        sql.execute("DELETE FROM audit_event WHERE id = %s", [victim])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("missing_event", 5, victim)


@pytest.mark.django_db(transaction=True)
def test_deleted_tail_is_found_against_the_head(sealed_org, owner_sql):
    victim = _at(sealed_org.pk, 6)
    with _tampering(owner_sql) as sql:
        sql.execute("DELETE FROM audit_chain WHERE event_id = %s", [victim])
        sql.execute("DELETE FROM audit_event WHERE id = %s", [victim])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq) == ("gap", 6)
    assert failure.message == "gap: seq 6 missing at the end of the chain (the head records seq 6)"


@pytest.mark.django_db(transaction=True)
def test_swapped_chain_positions_are_found_as_reordered(sealed_org, owner_sql):
    first, second = _at(sealed_org.pk, 3), _at(sealed_org.pk, 4)
    with _tampering(owner_sql) as sql:
        for old, new in ((3, -1), (4, 3), (-1, 4)):  # (organisation_id, seq) is unique: swap through -1
            sql.execute("UPDATE audit_chain SET seq = %s WHERE organisation_id = %s AND seq = %s",
                        [new, sealed_org.pk, old])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("reordered", 3, second)
    assert failure.message == (f"reordered: event {second} at seq 3 was sealed after event {first}, which now sits "
                               f"at seq 4, not after seq 2")


@pytest.mark.django_db(transaction=True)
def test_swapped_event_rows_are_found_as_reordered(sealed_org, owner_sql):
    first, second = _at(sealed_org.pk, 2), _at(sealed_org.pk, 5)
    with _tampering(owner_sql) as sql:
        for old, new in ((first, -1), (second, first), (-1, second)):
            sql.execute("UPDATE audit_event SET id = %s WHERE id = %s", [new, old])
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.seq, failure.event_id) == ("reordered", 2, first)
    assert failure.message == f"reordered: event {first} at seq 2 holds the content sealed at seq 5 (event {second})"


@pytest.mark.django_db(transaction=True)
def test_event_written_around_the_seal_is_found_unchained(sealed_org, owner_sql):
    with _tampering(owner_sql) as sql:
        sql.execute("ALTER TABLE audit_pending DISABLE TRIGGER audit_seal")
        try:
            sql.execute("SELECT set_config('sheshi.actor_label', 'tests:forger', false)")
            sql.execute("SELECT set_config('sheshi.org_ids', '*', false)")
            forged = sql.execute("SELECT audit_record(%s, 'forged', 'x', '1', NULL)", [sealed_org.pk]).fetchone()[0]
        finally:
            sql.execute("ALTER TABLE audit_pending ENABLE TRIGGER audit_seal")
    failure = _failure(sealed_org.pk)
    assert (failure.kind, failure.event_id) == ("unchained_event", forged)
