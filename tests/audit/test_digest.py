"""Signed digests: sign, verify, and catch a rewritten history even when the chain was recomputed."""
import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from audit.canonical import GENESIS_HASH, link_hash
from audit.errors import AuditDigestInvalidError
from audit.models import AuditChainLink, AuditEvent
from audit.selectors.verify import chain_verify, recompute_content_hash
from audit.services.digest import audit_digest_create, audit_digest_verify, signing_key
from tests.conftest import requires_role_split
from tests.factories import EntityFactory, OrganisationFactory

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]


@pytest.fixture
def org():
    org = OrganisationFactory(code="DIGEST")
    for i in range(3):
        EntityFactory(organisation=org, code=f"D{i}")
    return org


def test_hmac_digest_signs_the_head_and_verifies(org, tmp_path, capsys):
    path = tmp_path / "digest.json"
    call_command("audit_digest", "--org", "DIGEST", "--output", str(path))
    digest = json.loads(path.read_text())
    assert (digest["org"], digest["seq"], digest["count"], digest["algorithm"]) == ("DIGEST", 4, 4, "hmac-sha256")
    assert digest["head_hash"] == AuditChainLink.objects.get(organisation_id=org.pk, seq=4).hash
    call_command("audit_digest_verify", str(path))
    assert "digest verified — seq 4 still has head" in capsys.readouterr().out
    # exporting is itself recorded, after the signed head
    assert chain_verify(org.pk).count == 5


def test_every_digest_is_kept_in_the_evidence_store_and_the_export_names_it(org, tmp_path):
    """The command wrote only the caller's file (#19): nothing kept the digest an auditor was given."""
    path = tmp_path / "digest.json"
    call_command("audit_digest", "--org", "DIGEST", "--output", str(path))
    event = AuditEvent.objects.filter(organisation_id=org.pk, action="audit.digest_exported").latest("id")
    stored_as = event.changes["stored_as"]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert stored_as == f"audit-digests/DIGEST/{sha[:2]}/{sha}/seq-4.json"
    with storages["evidence"].open(stored_as) as kept:
        assert kept.read() == path.read_bytes()


def test_ed25519_digest_verifies_with_the_public_key_alone(org, tmp_path, settings):
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    settings.SHESHI_AUDIT_SIGNING_KEY = "ed25519:" + base64.b64encode(raw).decode()
    path, pub = tmp_path / "digest.json", tmp_path / "key.pub"
    call_command("audit_digest", "--org", "DIGEST", "--output", str(path))
    pub.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    settings.SHESHI_AUDIT_SIGNING_KEY = ""  # the auditor has no private key
    call_command("audit_digest_verify", str(path), "--public-key", str(pub))
    digest = json.loads(path.read_text())
    assert digest["algorithm"] == "ed25519"
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(AuditDigestInvalidError, match="signature does not verify"):
        audit_digest_verify(digest, public_key=other)


def test_altered_digest_fails_its_signature(org):
    digest = audit_digest_create(organisation_id=org.pk, org_code="DIGEST")
    for field, value in (("seq", 3), ("head_hash", "0" * 64), ("at", "2000-01-01T00:00:00+00:00")):
        with pytest.raises(AuditDigestInvalidError, match="signature does not verify"):
            audit_digest_verify({**digest, field: value})
    with pytest.raises(AuditDigestInvalidError, match="signature does not verify"):
        audit_digest_verify(digest, key=signing_key("another-secret"))


def test_history_rewritten_with_every_hash_recomputed_is_caught_by_the_digest(org, owner_sql, tmp_path):
    path = tmp_path / "digest.json"
    digest = audit_digest_create(organisation_id=org.pk, org_code="DIGEST")
    path.write_text(json.dumps(digest))
    # A thorough forger: edit event 2, recompute its content hash and every later link and the head.
    owner_sql.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    owner_sql.execute("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only")
    try:
        victim = owner_sql.execute("SELECT event_id FROM audit_chain WHERE organisation_id = %s AND seq = 2",
                                   [org.pk]).fetchone()[0]
        owner_sql.execute("UPDATE audit_event SET actor_label = 'someone-else' WHERE id = %s", [victim])
        rows = owner_sql.execute(
            "SELECT c.seq, e.id, e.organisation_id, e.occurred_at, e.txid, e.actor_id, e.actor_label, e.request_id,"
            " e.client_addr, e.action, e.object_type, e.object_id, e.changes::text FROM audit_chain c"
            " JOIN audit_event e ON e.id = c.event_id WHERE c.organisation_id = %s ORDER BY c.seq", [org.pk]).fetchall()
        prev = GENESIS_HASH
        for r in rows:
            keys = ("organisation_id", "occurred_at", "txid", "actor_id", "actor_label", "request_id", "client_addr",
                    "action", "object_type", "object_id", "changes")
            content = recompute_content_hash(dict(zip(keys, r[2:], strict=True)))
            h = link_hash(content, prev)
            owner_sql.execute("UPDATE audit_event SET content_hash = %s WHERE id = %s", [content, r[1]])
            owner_sql.execute("UPDATE audit_chain SET prev_hash = %s, hash = %s WHERE event_id = %s", [prev, h, r[1]])
            prev = h
        owner_sql.execute("UPDATE audit_chain_head SET hash = %s WHERE organisation_id = %s", [prev, org.pk])
    finally:
        owner_sql.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        owner_sql.execute("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only")
    assert chain_verify(org.pk).intact  # the chain alone cannot tell
    with pytest.raises(CommandError, match="history up to seq 4 was rewritten"):
        call_command("audit_digest_verify", str(path))
