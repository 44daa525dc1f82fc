"""The auditor evidence archive: contents, exact amounts, escaping, the signed manifest, and
tampering found and named."""
import hashlib
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from audit.canonical import GENESIS_HASH
from audit.evidence.archive import audit_evidence_export, evidence_scope
from audit.evidence.manifest import manifest_sign
from audit.evidence.verify import evidence_verify
from audit.models import AuditChainHead, AuditChainLink, AuditEvent
from audit.selectors.verify import chain_verify
from tests.audit.evidence_world import DATASETS, FORMULA, build_evidence_world, read_csv, read_json, rewrite_zip
from tests.conftest import requires_role_split

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]


@pytest.fixture
def ew():
    return build_evidence_world()


@pytest.fixture
def archive(ew, tmp_path):
    path = tmp_path / "evidence.zip"
    call_command("export_audit_evidence", "--org", "EVID", "--period", "2026-01", "--to", "2026-02",
                 "--out", str(path))
    return path


def test_archive_holds_exactly_each_dataset_in_csv_and_json_plus_the_manifest(archive):
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
    assert names == sorted([f"{d}.{ext}" for d in DATASETS for ext in ("csv", "json")] + ["manifest.json"])
    assert not archive.with_name("evidence.zip.partial").exists()


def test_manifest_lists_every_file_with_its_sha256_and_is_signed(ew, archive, capsys):
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        actual = {n: (hashlib.sha256(zf.read(n)).hexdigest(), len(zf.read(n))) for n in zf.namelist()
                  if n != "manifest.json"}
    assert {f["name"]: (f["sha256"], f["size"]) for f in manifest["files"]} == actual
    assert (manifest["organisation"]["code"], manifest["period_from"], manifest["period_to"]) == \
        ("EVID", "2026-01", "2026-02")
    assert manifest["entities"] == ["EVID-DE", "EVID-US"] and manifest["scope"] == "full"
    assert manifest["generated_by"] == "system:export_audit_evidence"
    assert manifest["algorithm"] == "hmac-sha256" and manifest["signature"]
    # the head the archive reports is the chain's head just before the export recorded itself
    export_event = AuditEvent.objects.get(action="evidence.exported")
    export_link = AuditChainLink.objects.get(event_id=export_event.pk)
    chain = manifest["audit_chain"]
    assert export_link.seq == chain["head_seq"] + 1 and export_link.prev_hash == chain["head_hash"]
    assert chain["intact"] is True and chain["verified_count"] == chain["head_seq"] == chain["count"]
    assert export_event.changes["manifest_sha256"] == export_event.object_id
    assert export_event.actor_label == "system:export_audit_evidence"
    assert chain_verify(ew.world.org.pk).intact

    report = evidence_verify(archive)
    assert (report.ok, report.files_checked) == (True, 2 * len(DATASETS))
    capsys.readouterr()
    call_command("verify_audit_evidence", str(archive))
    assert f"verified — {2 * len(DATASETS)} files match the signed manifest" in capsys.readouterr().out


def test_amounts_are_exact_decimal_strings_in_csv_and_json(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        csv_lines = [r for r in read_csv(zf, "journal_lines") if r["entry_id"] == str(ew.sale.pk)]
        json_lines = [r for r in read_json(zf, "journal_lines") if r["entry_id"] == ew.sale.pk]
        tb = {(r["entity"], r["period"], r["account_code"]): r for r in read_csv(zf, "trial_balances")}
        tb_json = {(r["entity"], r["period"], r["account_code"]): r for r in read_json(zf, "trial_balances")}
        totals = read_json(zf, "trial_balance_totals")
    assert [(r["line_no"], r["account_code"], r["amount"], r["functional_amount"], r["functional_debit"],
             r["functional_credit"], r["rate"]) for r in csv_lines] == [
        ("1", "1200", "1234.5600", "1234.5600", "1234.5600", "0.0000", "1.000000000000"),
        ("2", "4100", "-1234.5600", "-1234.5600", "0.0000", "1234.5600", "1.000000000000")]
    assert [(r["amount"], r["functional_amount"]) for r in json_lines] == [("1234.5600", "1234.5600"),
                                                                          ("-1234.5600", "-1234.5600")]
    # January: the sale and the 0.01 entry; receivables cumulative into February
    assert (tb[("EVID-DE", "2026-01", "1200")]["debit"], tb[("EVID-DE", "2026-01", "1200")]["net"]) == \
        ("1234.5700", "1234.5700")
    assert tb[("EVID-DE", "2026-01", "4100")]["net"] == "-1234.5700"
    assert tb_json[("EVID-DE", "2026-02", "1000")]["debit"] == "1234.5700"  # group row rolled up
    assert tb_json[("EVID-DE", "2026-02", "5100")] == {
        "entity": "EVID-DE", "period": "2026-02", "account_code": "5100", "account_name": "Cost of sales",
        "account_type": "expense", "account_kind": "posting", "depth": 1, "debit": "99.9900", "credit": "99.9900",
        "net": "0.0000"}
    assert {(t["entity"], t["period"], t["total_debit"], t["reconciles"]) for t in totals} == {
        ("EVID-DE", "2026-01", "1234.5700", True), ("EVID-DE", "2026-02", "1434.5500", True),
        ("EVID-US", "2026-01", "500.0000", True), ("EVID-US", "2026-02", "500.0000", True)}
    assert Decimal(tb[("EVID-DE", "2026-01", "1200")]["debit"]) == Decimal("1234.57")


def test_formula_looking_description_is_escaped_in_csv_and_verbatim_in_json(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        csv_row = next(r for r in read_csv(zf, "journal_entries") if r["entry_id"] == str(ew.formula.pk))
        json_row = next(r for r in read_json(zf, "journal_entries") if r["entry_id"] == ew.formula.pk)
    assert csv_row["description"] == "'" + FORMULA
    assert json_row["description"] == FORMULA
    assert csv_row["functional_debit"] == "0.0100"  # numbers are never escaped


def test_journals_carry_their_workflow_and_reversal_links(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        entries = {r["entry_id"]: r for r in read_json(zf, "journal_entries")}
    assert set(entries) == {ew.sale.pk, ew.formula.pk, ew.reversed.pk, ew.reversal.pk, ew.us_entry.pk}
    sale = entries[ew.sale.pk]
    assert (sale["created_by"], sale["submitted_by"], sale["approved_by"], sale["posted_by"], sale["status"],
            sale["source"]) == ("evid-preparer", "evid-preparer", "evid-approver", "evid-approver", "posted", "manual")
    assert sale["posted_at"] == ew.sale.posted_at.isoformat() and sale["line_count"] == 2
    assert entries[ew.reversed.pk]["reversed_by_entry_id"] == ew.reversal.pk
    reversal = entries[ew.reversal.pk]
    # A reversal goes through approval (issue #15 item 4): prepared by one, approved and posted by another.
    assert (reversal["reverses_entry_id"], reversal["source"], reversal["created_by"], reversal["approved_by"],
            reversal["posted_by"]) == (ew.reversed.pk, "reversal", "evid-controller", "evid-approver", "evid-approver")


def test_lock_snapshot_hash_and_its_recomputation_are_in_the_archive(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        snaps = read_json(zf, "period_lock_snapshots")
        rows = read_csv(zf, "period_lock_snapshot_rows")
        manifest = json.loads(zf.read("manifest.json"))
    assert [(s["snapshot_id"], s["entity"], s["period"], s["period_state"], s["taken_by"], s["sha256"],
             s["recomputed_sha256"], s["figures_unchanged"], s["stored_rows_match"]) for s in snaps] == [
        (ew.snapshot.pk, "EVID-DE", "2026-01", "locked", "evid-controller", ew.snapshot.sha256, ew.snapshot.sha256,
         True, True)]
    assert [(r["account_code"], r["amount"], r["functional_net"], r["line_count"]) for r in rows] == [
        ("1200", "1234.5700", "1234.5700", "2"), ("4100", "-1234.5700", "-1234.5700", "2")]
    assert manifest["checks"]["lock_snapshots"] == {"snapshots_checked": 1, "figures_unchanged": 1,
                                                     "figures_changed": [], "stored_rows_mismatch": []}


def test_locked_figures_changed_behind_the_database_are_reported(ew, owner_sql, tmp_path):
    owner_sql.execute("ALTER TABLE ledger_balance DISABLE TRIGGER USER")
    try:
        owner_sql.execute("UPDATE ledger_balance SET amount = amount + 1 WHERE entity_id = %s AND period_id = %s "
                          "AND account_id = %s", [ew.world.entity.pk, ew.world.period("2026-01").pk,
                                                  ew.world.acc("1200")])
    finally:
        owner_sql.execute("ALTER TABLE ledger_balance ENABLE TRIGGER USER")
    path = tmp_path / "e.zip"
    call_command("export_audit_evidence", "--org", "EVID", "--period", "2026-01", "--out", str(path))
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        snap = read_json(zf, "period_lock_snapshots")[0]
    assert manifest["checks"]["lock_snapshots"]["figures_changed"] == [f"EVID-DE 2026-01 snapshot {ew.snapshot.pk}"]
    assert (snap["figures_unchanged"], snap["sha256"]) == (False, ew.snapshot.sha256)
    assert snap["recomputed_sha256"] != ew.snapshot.sha256
    assert evidence_verify(path).ok  # the archive is genuine; what it reports is the problem


def test_audit_events_are_the_whole_chain_with_hashes_and_content(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        events = read_json(zf, "audit_events")
        manifest = json.loads(zf.read("manifest.json"))
    head = manifest["audit_chain"]
    assert [e["seq"] for e in events] == list(range(1, head["head_seq"] + 1))
    assert events[0]["prev_hash"] == GENESIS_HASH and events[-1]["hash"] == head["head_hash"]
    assert not any(e["content_withheld"] for e in events)
    stored = {link.seq: (link.event_id, link.hash) for link in AuditChainLink.objects.filter(
        organisation_id=ew.world.org.pk, seq__lte=head["head_seq"])}
    assert {e["seq"]: (e["event_id"], e["hash"]) for e in events} == stored
    posted = [e for e in events if e["object_type"] == "ledger.journalentry" and e["object_id"] == str(ew.sale.pk)
              and '"posted"' in (e["changes"] or "")]
    assert len(posted) == 1


def test_permissions_snapshot_names_who_holds_which_role_where(ew, archive):
    with zipfile.ZipFile(archive) as zf:
        roles = {(r["principal"], r["entity"]): (r["roles"], r["permissions"]) for r in read_csv(zf, "entity_roles")}
        members = {r["username"]: r for r in read_json(zf, "members")}
        perms = read_json(zf, "entity_permissions")
    assert roles == {
        ("evid-approver", "EVID-DE"): ("approver", "tenancy.approve_entries;tenancy.view_entity_data"),
        ("evid-auditor", "EVID-DE"): ("auditor", "tenancy.audit_entity;tenancy.view_entity_data"),
        ("evid-controller", "EVID-DE"): ("controller", "tenancy.approve_entries;tenancy.close_periods;"
                                                       "tenancy.prepare_entries;tenancy.reopen_periods;"
                                                       "tenancy.view_entity_data"),
        ("evid-preparer", "EVID-DE"): ("preparer", "tenancy.prepare_entries;tenancy.view_entity_data"),
        ("evid-viewer", "EVID-DE"): ("viewer", "tenancy.view_entity_data"),
    }
    assert len(perms) == 2 + 2 + 5 + 2 + 1
    assert set(members) == {"evid-approver", "evid-auditor", "evid-controller", "evid-preparer", "evid-viewer"}
    assert all(m["is_member"] and m["membership_active"] and not m["is_org_admin"] for m in members.values())


def test_a_tampered_file_is_detected_and_named(archive, tmp_path):
    with zipfile.ZipFile(archive) as zf:
        original = zf.read("journal_lines.csv")
    forged = original.replace(b"1234.5600", b"1234.5700", 1)
    assert forged != original
    tampered = tmp_path / "tampered.zip"
    rewrite_zip(archive, tampered, replace={"journal_lines.csv": forged})
    report = evidence_verify(tampered)
    assert report.failed_files == ["journal_lines.csv"]
    assert "SHA-256 is" in report.problems[0].message
    with pytest.raises(CommandError, match=r"evidence NOT verified: journal_lines\.csv$"):
        call_command("verify_audit_evidence", str(tampered))


def test_a_manifest_rewritten_to_match_a_tampered_file_fails_its_signature(archive, tmp_path):
    with zipfile.ZipFile(archive) as zf:
        forged = zf.read("trial_balances.json").replace(b'"1234.5700"', b'"1234.5800"')
        manifest = json.loads(zf.read("manifest.json"))
    for f in manifest["files"]:
        if f["name"] == "trial_balances.json":
            f["sha256"], f["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
    tampered = tmp_path / "tampered.zip"
    rewrite_zip(archive, tampered, replace={"trial_balances.json": forged,
                                            "manifest.json": json.dumps(manifest).encode()})
    report = evidence_verify(tampered)
    assert report.failed_files == ["manifest.json"]
    assert report.problems[0].message.startswith("signature does not verify")


def test_an_added_file_and_a_removed_file_are_named(archive, tmp_path):
    extra = tmp_path / "extra.zip"
    rewrite_zip(archive, extra, add={"notes.csv": b"a,b\r\n"})
    assert [str(p) for p in evidence_verify(extra).problems] == ["notes.csv: in the archive but not listed in the "
                                                                 "manifest"]
    shadow = tmp_path / "shadow.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        rewrite_zip(archive, shadow, add={"members.csv": b"user_id\r\n"})  # shadows the genuine entry
    report = evidence_verify(shadow)
    assert report.failed_files == ["members.csv"]
    assert str(report.problems[0]) == "members.csv: present 2 times in the archive"
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(archive) as zin, zipfile.ZipFile(missing, "w") as zout:
        for info in zin.infolist():
            if info.filename != "entity_roles.json":
                zout.writestr(info.filename, zin.read(info.filename))
    assert [str(p) for p in evidence_verify(missing).problems] == [
        "entity_roles.json: listed in the manifest but missing from the archive"]


def test_archived_audit_events_must_recompute_to_the_signed_head(ew, archive, tmp_path, settings):
    """An archive re-signed by a key holder after editing an event is still caught: the events'
    content no longer recomputes to the chain the manifest signs."""
    with zipfile.ZipFile(archive) as zf:
        lines = zf.read("audit_events.json").decode().split("\n")
        manifest = json.loads(zf.read("manifest.json"))
    row = json.loads(lines[3].removesuffix(","))
    row["actor_label"] = "someone-else"
    lines[3] = json.dumps(row, ensure_ascii=False) + ("," if lines[3].endswith(",") else "")
    forged = "\n".join(lines).encode()
    for f in manifest["files"]:
        if f["name"] == "audit_events.json":
            f["sha256"], f["size"] = hashlib.sha256(forged).hexdigest(), len(forged)
    resigned = manifest_sign(manifest)
    tampered = tmp_path / "tampered.zip"
    rewrite_zip(archive, tampered, replace={"audit_events.json": forged,
                                            "manifest.json": json.dumps(resigned).encode()})
    report = evidence_verify(tampered)
    assert [p.name for p in report.problems] == ["audit_events.json"]
    assert report.problems[0].message == (f"seq {row['seq']} (event {row['event_id']}): the content does not match "
                                          f"its content hash")


def test_export_refuses_unknown_periods_and_leaves_no_file(ew, tmp_path):
    path = tmp_path / "e.zip"
    before = AuditChainHead.objects.get(organisation_id=ew.world.org.pk).seq
    with pytest.raises(CommandError, match="Unknown period"):
        call_command("export_audit_evidence", "--org", "EVID", "--period", "2031-01", "--out", str(path))
    with pytest.raises(CommandError, match="The range ends before it starts"):
        call_command("export_audit_evidence", "--org", "EVID", "--period", "2026-03", "--to", "2026-01",
                     "--out", str(path))
    assert list(tmp_path.iterdir()) == []
    assert AuditChainHead.objects.get(organisation_id=ew.world.org.pk).seq == before


def test_partial_scope_keeps_only_its_entities_and_withholds_unattributed_event_content(ew, tmp_path):
    scope = evidence_scope(organisation=ew.world.org, period="2026-01", entities=[ew.world.other])
    with (tmp_path / "p.zip").open("w+b") as f:
        result = audit_evidence_export(scope=scope, out=f, generated_by="test")
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        entries = read_json(zf, "journal_entries")
        events = read_json(zf, "audit_events")
        perms = read_json(zf, "entity_permissions")
    assert result.manifest["scope"] == "partial" and result.manifest["entities"] == ["EVID-US"]
    assert [e["entry_id"] for e in entries] == [ew.us_entry.pk]
    assert perms == []
    withheld = [e for e in events if e["content_withheld"]]
    shown = [e for e in events if not e["content_withheld"]]
    assert len(withheld) + len(shown) == result.manifest["audit_chain"]["head_seq"] and withheld and shown
    assert all(e["changes"] is None and e["actor_label"] is None and e["hash"] for e in withheld)
    assert {_attributed_entity(e) for e in shown} == {ew.world.other.pk}
    assert evidence_verify(tmp_path / "p.zip").ok


def _attributed_entity(event: dict) -> int | None:
    if event["object_type"] == "tenancy.entity":
        return int(event["object_id"])
    changes = json.loads(event["changes"] or "{}")
    side = changes.get("after") or changes.get("before") or {}
    return side.get("entity_id", side.get("content_object_id"))
