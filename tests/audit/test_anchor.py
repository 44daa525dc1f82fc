"""Anchors: the chain heads signed into a write-once store outside the database, so that cutting
the trail at its end — which the chain alone cannot see — is found and named by verify_audit.

Each attack is what the schema owner or a DBA can do: switch the user triggers off inside a
transaction, change rows, switch them on again. The chain check alone passes after each of them
(asserted where it does); verify_audit against the latest anchor does not."""
import base64
import contextlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command

from audit.anchor.services import anchor_latest
from audit.anchor.store import AnchorExistsError, DirectoryAnchorStore, anchor_store
from audit.canonical import GENESIS_HASH, link_hash
from audit.errors import AuditAnchorRegressionError
from audit.models import AuditChainHead, AuditChainLink
from audit.selectors.verify import chain_verify, recompute_content_hash
from audit.services.digest import audit_digest_create, audit_digest_verify
from audit.tasks import audit_anchor_task
from ledger.services.entries import journal_entry_create_and_post
from periods.services.transitions import entity_period_lock
from tests.conftest import requires_role_split
from tests.factories import EntityFactory, OrganisationFactory
from tests.ledger.helpers import build_world

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]

AUDIT_TABLES = ("audit_event", "audit_chain", "audit_chain_head")


@contextlib.contextmanager
def _triggers_off(owner_sql, *tables):
    """As the owner or a DBA would: user triggers off, rows changed, triggers on, in one transaction."""
    with owner_sql.transaction():
        for table in tables:
            owner_sql.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield owner_sql
        for table in tables:
            owner_sql.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.fixture
def sealed_org():
    """An organisation with a sealed chain of 6 events and 5 entity history rows."""
    org = OrganisationFactory(code="TAMPER")
    for i in range(5):
        EntityFactory(organisation=org, code=f"T{i}")
    assert (chain_verify(org.pk).intact, chain_verify(org.pk).count) == (True, 6)
    return org


def _event_at(org_id: int, seq: int) -> int:
    return AuditChainLink.objects.get(organisation_id=org_id, seq=seq).event_id


def _anchor_files() -> list[Path]:
    return sorted(Path(settings.SHESHI_AUDIT_ANCHOR_DIR).glob("*.json"))


def _verify_fails(capsys) -> list[str]:
    """verify_audit exits non-zero; its error lines."""
    capsys.readouterr()
    with pytest.raises(CommandError):
        call_command("verify_audit")
    return capsys.readouterr().err.strip().splitlines()


def _cut_tail(sql, org_id: int, keep: int) -> None:
    """Delete the events after seq ``keep`` and their links, and rewind the head to seq ``keep``."""
    sql.execute("DELETE FROM audit_event WHERE id IN (SELECT event_id FROM audit_chain WHERE organisation_id = %s"
                " AND seq > %s)", [org_id, keep])
    sql.execute("DELETE FROM audit_chain WHERE organisation_id = %s AND seq > %s", [org_id, keep])
    sql.execute("UPDATE audit_chain_head h SET seq = c.seq, hash = c.hash, event_id = c.event_id FROM audit_chain c"
                " WHERE h.organisation_id = %s AND c.organisation_id = h.organisation_id AND c.seq = %s",
                [org_id, keep])


def test_intact_trail_reaches_the_anchor_and_later_events_are_fine(sealed_org, capsys):
    name = audit_anchor_task()
    EntityFactory(organisation=sealed_org, code="LATER")  # the chain grows past the anchor: legitimate
    call_command("verify_audit")
    out = capsys.readouterr()
    head = AuditChainHead.objects.get(organisation_id=sealed_org.pk).hash
    assert f"TAMPER: intact: 7 events, head {head}" in out.out.splitlines()
    assert f"anchor {name} (" in out.out
    assert out.err == ""


def test_cut_tail_with_rewound_head_is_found_against_the_anchor(sealed_org, owner_sql, capsys):
    name = audit_anchor_task()
    lost = [_event_at(sealed_org.pk, 5), _event_at(sealed_org.pk, 6)]
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        _cut_tail(sql, sealed_org.pk, keep=4)
    report = chain_verify(sealed_org.pk)
    assert (report.intact, report.count) == (True, 4)  # the chain alone cannot tell
    errors = _verify_fails(capsys)
    assert len(errors) == 1
    kept = _event_at(sealed_org.pk, 4)
    assert errors[0].startswith(f"TAMPER: FAILED: tail truncated: seq 5..6 missing, the organisation's events after "
                                f"event {kept} up to event {lost[1]} — the chain now ends at seq 4 (head row at "
                                f"seq 4), but anchor {name} (")
    assert f"recorded 6 events, seq 1..6, up to event {lost[1]}" in errors[0]


def test_organisation_chain_deleted_whole_is_found_against_the_anchor(sealed_org, owner_sql, capsys):
    name = audit_anchor_task()
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        for table in AUDIT_TABLES:
            sql.execute(f"DELETE FROM {table} WHERE organisation_id = %s", [sealed_org.pk])
    assert chain_verify(sealed_org.pk).summary() == f"intact: 0 events, head {GENESIS_HASH}"  # what main said
    errors = _verify_fails(capsys)
    assert len(errors) == 2
    assert errors[0] == ("TAMPER: FAILED: history deleted: the chain is empty, yet the organisation exists (its "
                         "creation is itself an audited event) and has 0 posted journal entries")
    assert errors[1].startswith(f"TAMPER: FAILED: history deleted: the chain is empty (no head row), but anchor "
                                f"{name} (")


def test_organisation_deleted_with_its_chain_is_named_from_the_anchor(sealed_org, owner_sql, capsys):
    name = audit_anchor_task()
    org_id = sealed_org.pk
    with _triggers_off(owner_sql, *AUDIT_TABLES, "tenancy_entity", "tenancy_organisation") as sql:
        sql.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check left pending at ENABLE TRIGGER
        for table in (*AUDIT_TABLES, "tenancy_entity"):
            sql.execute(f"DELETE FROM {table} WHERE organisation_id = %s", [org_id])
        sql.execute("DELETE FROM tenancy_organisation WHERE id = %s", [org_id])
    errors = _verify_fails(capsys)
    assert len(errors) == 1
    assert errors[0].startswith(f"TAMPER (#{org_id}): FAILED: history deleted: the chain is empty (no head row), "
                                f"but anchor {name} (")


def test_empty_chain_of_an_organisation_with_postings_is_never_intact(owner_sql, capsys):
    world = build_world("POSTED")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    assert anchor_latest() is None  # no anchor: the database alone must still not say "intact"
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        for table in AUDIT_TABLES:
            sql.execute(f"DELETE FROM {table} WHERE organisation_id = %s", [world.org.pk])
    errors = _verify_fails(capsys)
    assert errors[0] == ("POSTED: FAILED: history deleted: the chain is empty, yet the organisation exists (its "
                         "creation is itself an audited event) and has 1 posted journal entry")
    assert errors[-1].startswith("WARNING: no anchor in ")


def _rechain(sql, org_id: int) -> None:
    """A thorough forger: edit the event at seq 2, recompute its content hash, every later link and the head."""
    victim = sql.execute("SELECT event_id FROM audit_chain WHERE organisation_id = %s AND seq = 2",
                         [org_id]).fetchone()[0]
    sql.execute("UPDATE audit_event SET actor_label = 'someone-else' WHERE id = %s", [victim])
    rows = sql.execute(
        "SELECT e.id, e.organisation_id, e.occurred_at, e.txid, e.actor_id, e.actor_label, e.request_id,"
        " e.client_addr, e.action, e.object_type, e.object_id, e.changes::text FROM audit_chain c"
        " JOIN audit_event e ON e.id = c.event_id WHERE c.organisation_id = %s ORDER BY c.seq", [org_id]).fetchall()
    keys = ("organisation_id", "occurred_at", "txid", "actor_id", "actor_label", "request_id", "client_addr",
            "action", "object_type", "object_id", "changes")
    prev = GENESIS_HASH
    for r in rows:
        content = recompute_content_hash(dict(zip(keys, r[1:], strict=True)))
        h = link_hash(content, prev)
        sql.execute("UPDATE audit_event SET content_hash = %s WHERE id = %s", [content, r[0]])
        sql.execute("UPDATE audit_chain SET prev_hash = %s, hash = %s WHERE event_id = %s", [prev, h, r[0]])
        prev = h
    sql.execute("UPDATE audit_chain_head SET hash = %s WHERE organisation_id = %s", [prev, org_id])


def test_rechained_history_is_found_against_the_anchor(sealed_org, owner_sql, capsys):
    name = audit_anchor_task()
    anchored = AuditChainLink.objects.get(organisation_id=sealed_org.pk, seq=6)
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        _rechain(sql, sealed_org.pk)
    assert chain_verify(sealed_org.pk).intact  # the chain alone cannot tell
    now = AuditChainLink.objects.get(organisation_id=sealed_org.pk, seq=6).hash
    errors = _verify_fails(capsys)
    assert len(errors) == 1
    assert errors[0].startswith(f"TAMPER: FAILED: re-chained: seq 6 now holds event {anchored.event_id} with hash "
                                f"{now}, but anchor {name} (")
    assert errors[0].endswith(f"(hash {anchored.hash}): history up to seq 6 was rewritten")


def test_truncated_history_table_is_found_against_the_anchor(sealed_org, owner_sql, capsys):
    rows, max_id = owner_sql.execute("SELECT count(*), max(history_id) FROM tenancy_historicalentity").fetchone()
    assert rows == 5
    name = audit_anchor_task()
    with _triggers_off(owner_sql, "tenancy_historicalentity") as sql:
        sql.execute("TRUNCATE tenancy_historicalentity")
    assert chain_verify(sealed_org.pk).intact
    errors = _verify_fails(capsys)
    assert errors == [f"FAILED: history truncated: tenancy_historicalentity: at least 5 rows missing (0 left), "
                      f"no row above id 0 (ids up to {max_id} existed), but anchor {name} "
                      f"({anchor_latest().document['at']}) recorded 5 rows up to id {max_id}"]


def test_newest_history_rows_deleted_are_found_against_the_anchor(sealed_org, owner_sql, capsys):
    max_id = owner_sql.execute("SELECT max(history_id) FROM tenancy_historicalentity").fetchone()[0]
    audit_anchor_task()
    with _triggers_off(owner_sql, "tenancy_historicalentity") as sql:
        sql.execute("DELETE FROM tenancy_historicalentity WHERE history_id = %s", [max_id])
    errors = _verify_fails(capsys)
    assert len(errors) == 1
    assert errors[0].startswith(f"FAILED: history truncated: tenancy_historicalentity: at least 1 rows missing "
                                f"(4 left), no row above id {max_id - 1} (ids up to {max_id} existed)")


def test_events_appended_after_the_last_digest_are_covered_by_the_next_scheduled_anchor(sealed_org, owner_sql,
                                                                                         capsys):
    digest = audit_digest_create(organisation_id=sealed_org.pk, org_code="TAMPER")  # seq 6; event 7 records it
    for i in range(3):
        EntityFactory(organisation=sealed_org, code=f"A{i}")  # seq 8..10
    audit_anchor_task()  # the hourly schedule
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        _cut_tail(sql, sealed_org.pk, keep=7)
    audit_digest_verify(digest)  # the digest still holds: it never knew of seq 8..10
    errors = _verify_fails(capsys)
    assert len(errors) == 1
    assert errors[0].startswith("TAMPER: FAILED: tail truncated: seq 8..10 missing")


def test_anchor_with_altered_figures_fails_its_signature(sealed_org, capsys):
    audit_anchor_task()
    latest = anchor_latest()
    forged = {**latest.document, "sequence": latest.sequence + 1, "chains": [
        {**c, "seq": 1, "count": 1} for c in latest.document["chains"]]}
    name = latest.name.replace(f"-{latest.sequence:08d}.json", f"-{latest.sequence + 1:08d}.json")
    anchor_store().put(name, json.dumps(forged).encode())
    errors = _verify_fails(capsys)
    assert errors == [f"FAILED: anchor {name} ({forged['at']}): the signature does not verify (altered anchor, or "
                      f"signed with another key: hmac-sha256 key {forged['key_id']})"]


def test_anchor_files_are_written_once_and_never_overwritten(sealed_org):
    first = audit_anchor_task()
    first_bytes = (Path(settings.SHESHI_AUDIT_ANCHOR_DIR) / first).read_bytes()
    EntityFactory(organisation=sealed_org, code="NEXT")
    second = audit_anchor_task()
    assert [p.name for p in _anchor_files()] == [first, second]
    assert (first[-13:], second[-13:]) == ("00000001.json", "00000002.json")
    assert (Path(settings.SHESHI_AUDIT_ANCHOR_DIR) / first).read_bytes() == first_bytes
    store = DirectoryAnchorStore(settings.SHESHI_AUDIT_ANCHOR_DIR)
    with pytest.raises(AnchorExistsError):
        store.put(first, b"{}")
    assert (Path(settings.SHESHI_AUDIT_ANCHOR_DIR) / first).read_bytes() == first_bytes
    doc = anchor_latest().document
    assert doc["previous"]["name"] == first
    chain = next(c for c in doc["chains"] if c["organisation_id"] == sealed_org.pk)
    link = AuditChainLink.objects.get(organisation_id=sealed_org.pk, seq=7)
    assert chain == {"organisation_id": sealed_org.pk, "org": "TAMPER", "seq": 7, "count": 7,
                     "last_event_id": link.event_id, "head_hash": link.hash}
    assert {"table": "tenancy_historicalentity", "pk": "history_id", "rows": 6}.items() <= \
        next(h for h in doc["history"] if h["table"] == "tenancy_historicalentity").items()


def test_no_anchor_is_written_over_a_cut_tail(sealed_org, owner_sql):
    audit_anchor_task()
    with _triggers_off(owner_sql, *AUDIT_TABLES) as sql:
        _cut_tail(sql, sealed_org.pk, keep=3)
    with pytest.raises(AuditAnchorRegressionError, match=r"tail truncated: seq 4\.\.6 missing"):
        audit_anchor_task()
    assert len(_anchor_files()) == 1


def test_period_lock_writes_an_anchor_after_commit():
    world = build_world("LOCK")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    assert _anchor_files() == []
    ep = world.entity_period("2026-01")  # an entity's first month (months lock oldest first)
    entity_period_lock(actor=None, entity_period_id=ep.pk)
    doc = anchor_latest().document
    assert (doc["reason"], doc["ref"]) == ("period_lock", f"entity_period:{ep.pk}")
    head = AuditChainHead.objects.get(organisation_id=world.org.pk)
    assert {"organisation_id": world.org.pk, "seq": head.seq, "head_hash": head.hash}.items() <= \
        next(c for c in doc["chains"] if c["organisation_id"] == world.org.pk).items()


@pytest.mark.django_db  # before any transactional test's flush empties the schedule table
def test_anchor_schedule_exists_after_migrate():
    from django_q.models import Schedule

    sched = Schedule.objects.get(name="audit.anchor")
    assert (sched.func, sched.schedule_type, sched.repeats, sched.kwargs) == (
        "audit.tasks.audit_anchor_task", Schedule.HOURLY, -1, "{'reason': 'schedule'}")


def test_audit_anchor_command_writes_a_manual_anchor_and_shows_it(sealed_org, capsys):
    call_command("audit_anchor")
    [path] = _anchor_files()
    assert capsys.readouterr().out.strip().startswith(f"{path}: ")
    call_command("audit_anchor", "--show")
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads(path.read_text())
    assert (shown["reason"], shown["sequence"], shown["previous"]) == ("manual", 1, None)


def test_ed25519_anchor_verifies_with_the_public_key_alone(sealed_org, tmp_path, settings, capsys):
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    settings.SHESHI_AUDIT_SIGNING_KEY = "ed25519:" + base64.b64encode(raw).decode()
    name = audit_anchor_task()
    pub, other = tmp_path / "key.pub", tmp_path / "other.pub"
    for path, key in ((pub, private.public_key()), (other, Ed25519PrivateKey.generate().public_key())):
        path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings.SHESHI_AUDIT_SIGNING_KEY = ""  # the auditor has no private key
    call_command("verify_audit", "--public-key", str(pub))
    assert f"anchor {name} (" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 anchor problem"):
        call_command("verify_audit", "--public-key", str(other))
    assert "the signature does not verify" in capsys.readouterr().err


def test_planted_anchor_with_a_hostile_table_name_is_reported_never_run(sealed_org, owner_sql):
    """The writer reads the previous anchor without its signature (it must survive a key rotation):
    names from a file are checked, never pasted into SQL."""
    audit_anchor_task()
    latest = anchor_latest()
    hostile = {**latest.document, "history": [{"table": 'x"; DROP TABLE audit_event; --', "pk": "id", "rows": 1,
                                               "max_id": 1}]}
    anchor_store().put(latest.name.replace("-00000001.json", "-00000002.json"), json.dumps(hostile).encode())
    with pytest.raises(AuditAnchorRegressionError, match="is malformed"):
        audit_anchor_task()
    assert owner_sql.execute("SELECT to_regclass('audit_event') IS NOT NULL").fetchone()[0]
    assert len(_anchor_files()) == 2
