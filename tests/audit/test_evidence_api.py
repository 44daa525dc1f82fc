"""GET /api/v1/audit/evidence/: auditors get the archive of their entities; others are refused
(403 inside their organisation, 404 for another organisation) and nothing is recorded."""
import io
import json
import zipfile

import pytest

from audit.evidence.verify import evidence_verify
from audit.models import AuditChainHead, AuditEvent
from tests.audit.evidence_world import build_evidence_world, read_json
from tests.conftest import requires_role_split
from tests.factories import user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]
URL = "/api/v1/audit/evidence/"


@pytest.fixture
def ew():
    return build_evidence_world()


def _zip(resp) -> bytes:
    return b"".join(resp.streaming_content)


def _head(org) -> int:
    return AuditChainHead.objects.get(organisation_id=org.pk).seq


def test_auditor_gets_the_zip_of_the_entities_they_audit(ew, client, tmp_path):
    auditor = ew.users["auditor"]
    client.force_login(auditor)
    resp = client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2026-01", "to": "2026-02"})
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/zip"
    assert resp["Content-Disposition"] == 'attachment; filename="audit-evidence-EVID-2026-01-2026-02.zip"'
    data = _zip(resp)
    path = tmp_path / "e.zip"
    path.write_bytes(data)
    assert evidence_verify(path).ok
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        entries = read_json(zf, "journal_entries")
    # the auditor holds the permission on EVID-DE only: EVID-US is not in the archive
    assert (manifest["entities"], manifest["scope"]) == (["EVID-DE"], "partial")
    assert manifest["generated_by"] == f"user:evid-auditor (id {auditor.pk})"
    assert {e["entity"] for e in entries} == {"EVID-DE"} and ew.us_entry.pk not in {e["entry_id"] for e in entries}
    event = AuditEvent.objects.get(action="evidence.exported")
    assert (event.actor_id, event.organisation_id, event.object_id) == \
        (auditor.pk, ew.world.org.pk, resp["Evidence-Manifest-SHA256"])
    assert event.changes["head_seq"] == manifest["audit_chain"]["head_seq"]


def test_auditor_of_every_entity_gets_the_full_archive(ew, client):
    from sheshi.access.services.grants import role_grant

    auditor = ew.users["auditor"]
    role_grant(actor=None, user=auditor, entity=ew.world.other, role="auditor")
    client.force_login(auditor)
    resp = client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2026-01"})
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(_zip(resp))) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        events = read_json(zf, "audit_events")
    assert (manifest["entities"], manifest["scope"], manifest["periods"]) == (["EVID-DE", "EVID-US"], "full",
                                                                             ["2026-01"])
    assert not any(e["content_withheld"] for e in events)


@pytest.mark.parametrize("role", ["preparer", "controller", "viewer"])
def test_member_without_the_auditor_permission_is_403_and_nothing_is_recorded(ew, client, role):
    client.force_login(ew.users[role])
    before = _head(ew.world.org)
    resp = client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2026-01"})
    assert resp.status_code == 403
    assert resp["Content-Type"].startswith("application/problem+json")
    assert _head(ew.world.org) == before
    assert not AuditEvent.objects.filter(action="evidence.exported").exists()


def test_auditor_of_another_organisation_is_404_and_nothing_is_recorded(ew, client):
    from tests.ledger.helpers import build_world

    other = build_world("OTHER")
    outsider = user_with_role(other.entity, "auditor", username="other-auditor")
    client.force_login(outsider)
    before = _head(ew.world.org)
    resp = client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2026-01"})
    assert resp.status_code == 404
    assert _head(ew.world.org) == before
    assert not AuditEvent.objects.filter(action="evidence.exported").exists()
    # an organisation that does not exist answers the same
    assert client.get(URL, {"organisation": 999999, "period": "2026-01"}).status_code == 404


def test_bad_parameters_are_400_problems(ew, client):
    client.force_login(ew.users["auditor"])
    missing = client.get(URL, {"organisation_id": ew.world.org.pk})
    assert missing.status_code == 400
    assert [e["field"] for e in missing.json()["errors"]] == ["period"]
    unknown = client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2030-01"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "period"
    assert not AuditEvent.objects.filter(action="evidence.exported").exists()


def test_anonymous_is_401(ew, client):
    assert client.get(URL, {"organisation_id": ew.world.org.pk, "period": "2026-01"}).status_code == 401
