"""Imports over the API: upload (inline or as a job), refusals that change nothing, the stored
original, saved mappings, and the drill-down from a trial-balance figure to its source rows.
Owner (preparer), colleague (viewer), outsider (another organisation)."""
import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from psycopg.types.range import Range

from audit.models import AuditEvent
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.models import Balance, JournalEntry, JournalLine, LocalAccountMapping
from ledger.selectors.reports import trial_balance
from tests.factories import member, user_with_role
from tests.ledger.helpers import build_world

from .helpers import FILES, TB

pytestmark = pytest.mark.django_db
URL = "/api/v1/import-batches/"
LOCAL = {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}
TB_UTF8 = (FILES / "tb_utf8.csv").read_bytes()


@pytest.fixture
def world(db):
    w = build_world()
    for local, group in LOCAL.items():
        LocalAccountMapping.objects.create(organisation=w.org, entity=w.entity, local_code=local,
                                           account=w.accounts[group], valid=Range(date(2020, 1, 1), None))
    w.source = SourceSystem.objects.create(organisation=w.org, code="SAP", name="SAP", kind="trial_balance",
                                           mapping=TB.as_dict())
    return w


@pytest.fixture
def preparer(world):
    return user_with_role(world.entity, "preparer")


@pytest.fixture
def viewer(world):
    return user_with_role(world.entity, "viewer")


@pytest.fixture
def outsider(db):
    other = build_world("ELSE")
    return user_with_role(other.entity, "controller")


def upload(client, world, data=TB_UTF8, name="tb_utf8.csv", **fields):
    body = {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "entity": world.entity.code,
            "period": "2026-01", **fields}
    if "mapping" not in fields:
        body.setdefault("source_system", world.source.pk)
    return client.post(URL, body)


def ledger_state():
    return (JournalEntry.objects.count(), JournalLine.objects.count(),
            sorted(Balance.objects.values_list("entity_id", "account_id", "functional_debit", "functional_credit")))


def test_preparer_uploads_a_small_file_and_gets_the_posted_batch(client, world, preparer):
    client.force_login(preparer)
    resp = upload(client, world)
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    batch = ImportBatch.objects.get()
    assert resp["Location"] == f"{URL}{batch.pk}/"
    assert {k: body[k] for k in ("entity", "period", "source_system", "kind", "status", "file_name", "sha256", "size",
                                 "row_count", "rows_done", "entry_count", "line_count", "debit_total",
                                 "credit_total", "error_count", "errors", "created_by", "file_url",
                                 "journal_entries_url")} == {
        "entity": "ACME-DE", "period": "2026-01", "source_system": world.source.pk, "kind": "trial_balance",
        "status": "posted", "file_name": "tb_utf8.csv", "sha256": hashlib.sha256(TB_UTF8).hexdigest(),
        "size": len(TB_UTF8), "row_count": 4, "rows_done": 4, "entry_count": 1, "line_count": 4,
        "debit_total": "13845.6700", "credit_total": "13845.6700", "error_count": 0, "errors": [],
        "created_by": preparer.username, "file_url": f"{URL}{batch.pk}/file/",
        "journal_entries_url": f"/api/v1/journal-entries/?import_batch={batch.pk}"}
    assert JournalLine.objects.filter(import_batch_id=batch.pk).count() == 4
    event = AuditEvent.objects.get(action="import_batch.uploaded")
    assert (event.object_id, event.actor_id, event.changes["sha256"], event.changes["source_system"]) == (
        str(batch.pk), preparer.pk, batch.sha256, "SAP")


def test_an_inline_mapping_is_accepted_instead_of_a_source_system(client, world, preparer):
    client.force_login(preparer)
    resp = upload(client, world, mapping=json.dumps(TB.as_dict()))
    assert resp.status_code == 201, resp.json()
    assert (resp.json()["source_system"], resp.json()["mapping"]["delimiter"]) == (None, ",")


def test_a_large_file_runs_as_a_job_after_commit_and_the_api_answers_202(client, world, preparer, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.SHESHI_IMPORT_INLINE_MAX_BYTES = 10
    client.force_login(preparer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resp = upload(client, world)
        assert resp.status_code == 202, resp.json()
        assert (resp.json()["status"], resp.json()["rows_done"], JournalEntry.objects.count()) == ("pending", 0, 0)
    assert len(callbacks) == 1
    detail = client.get(resp["Location"]).json()
    assert (detail["status"], detail["row_count"], detail["rows_done"], detail["line_count"]) == ("posted", 4, 4, 4)


def test_a_viewer_cannot_upload_and_nothing_is_stored(client, world, viewer):
    client.force_login(viewer)
    resp = upload(client, world)
    assert (resp.status_code, resp.json()["code"]) == (403, "permission_denied")
    assert (ImportBatch.objects.count(), JournalEntry.objects.count()) == (0, 0)


def test_a_viewer_lists_batches_reads_one_and_downloads_the_original(client, world, preparer, viewer):
    client.force_login(preparer)
    batch_id = upload(client, world).json()["id"]
    client.force_login(viewer)
    listing = client.get(URL, {"status": "posted", "entity": world.entity.code})
    assert [b["id"] for b in listing.json()["results"]] == [batch_id]
    assert client.get(URL, {"status": "rejected"}).json()["results"] == []
    assert client.get(f"{URL}{batch_id}/").json()["status"] == "posted"
    download = client.get(f"{URL}{batch_id}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == TB_UTF8
    assert download["Content-Disposition"] == 'attachment; filename="tb_utf8.csv"'
    assert download["X-Content-SHA256"] == hashlib.sha256(TB_UTF8).hexdigest()
    assert AuditEvent.objects.filter(action="import_batch.file_read", object_id=str(batch_id),
                                     actor_id=viewer.pk).count() == 1


def test_another_organisation_sees_nothing_and_cannot_upload(client, world, preparer, outsider):
    client.force_login(preparer)
    batch_id = upload(client, world).json()["id"]
    client.force_login(outsider)
    assert upload(client, world, data=TB_UTF8 + b"\n").status_code == 404
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{batch_id}/").status_code == 404
    assert client.get(f"{URL}{batch_id}/file/").status_code == 404
    assert client.get("/api/v1/source-systems/").json()["results"] == []
    assert ImportBatch.objects.count() == 1


def test_a_colleague_on_another_entity_cannot_see_the_batch(client, world, preparer):
    colleague = user_with_role(world.other, "controller")
    client.force_login(preparer)
    batch_id = upload(client, world).json()["id"]
    client.force_login(colleague)
    assert client.get(f"{URL}{batch_id}/file/").status_code == 404
    assert client.get(URL).json()["results"] == []


def test_a_file_with_problems_is_a_422_listing_every_row_and_writes_nothing_to_the_ledger(client, world, preparer):
    client.force_login(preparer)
    before = ledger_state()
    data = b"Account,Name,Debit,Credit\n1000,Cash,10.00,\n7777,Mystery,,4.00\n1200,Bad,1O.00,\n2000,Both,1.00,2.00\n"
    resp = upload(client, world, data=data, name="bad.csv")
    assert resp.status_code == 422
    assert resp["Content-Type"] == "application/problem+json"
    body = resp.json()
    batch = ImportBatch.objects.get()
    assert (body["code"], batch.status) == ("import_rows_invalid", ImportStatus.REJECTED)
    assert f"Batch {batch.pk} ({URL}{batch.pk}/)" in body["detail"]
    assert [(e.get("row"), e["field"], e.get("value"), e["code"]) for e in body["errors"]] == [
        (3, "Account", "7777", "account_unknown"),
        (4, "Debit", "1O.00", "amount_invalid"),
        (5, "Debit/Credit", "1.00/2.00", "debit_and_credit"),
        (None, "Debit/Credit", "6.00", "not_balanced"),
    ]
    assert body["errors"] == batch.errors
    assert ledger_state() == before


def test_an_unreadable_file_is_refused_before_any_batch_exists(client, world, preparer):
    client.force_login(preparer)
    resp = upload(client, world, data=(FILES / "junk.csv").read_bytes(), name="junk.csv")
    assert (resp.status_code, resp.json()["code"]) == (422, "import_binary_file")
    assert (ImportBatch.objects.count(), JournalEntry.objects.count()) == (0, 0)


def test_the_same_file_twice_is_a_409_and_changes_nothing(client, world, preparer):
    client.force_login(preparer)
    first = upload(client, world).json()["id"]
    before = (ledger_state(), ImportBatch.objects.count())
    resp = upload(client, world, name="renamed.csv")
    assert (resp.status_code, resp.json()["code"]) == (409, "import_duplicate")
    assert f"batch {first}" in resp.json()["detail"]
    assert (ledger_state(), ImportBatch.objects.count()) == before


@pytest.mark.parametrize(("fields", "expected"), [
    ({"mapping": "{not json"}, [("mapping", "mapping_invalid")]),
    ({"mapping": json.dumps({**TB.as_dict(), "debit": None})}, [("mapping", "mapping_invalid")]),
    ({"source_system": 0, "mapping": "{}"}, [("source_system", "required")]),
    ({"source_system": 999999, "period": "2031-01"},
     [("period", "unknown_period"), ("source_system", "unknown_source_system")]),
])
def test_a_bad_upload_request_is_a_400_with_field_errors(client, world, preparer, fields, expected):
    client.force_login(preparer)
    resp = upload(client, world, **fields)
    assert resp.status_code == 400
    assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == expected
    assert ImportBatch.objects.count() == 0


def test_a_corrected_file_supersedes_the_earlier_batch_through_the_api(client, world, preparer):
    client.force_login(preparer)
    first = upload(client, world).json()["id"]
    corrected = TB_UTF8.replace(b"1,500.00", b"1,600.00").replace(b"5,000.00", b"5,100.00")
    resp = upload(client, world, data=corrected, name="tb_fixed.csv", supersedes=first)
    assert resp.status_code == 201, resp.json()
    assert resp.json()["supersedes"] == first
    assert client.get(f"{URL}{first}/").json()["status"] == "superseded"


def test_source_systems_are_listed_and_saved_per_organisation(client, world, preparer, viewer):
    client.force_login(preparer)
    gl = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Konto", amount="Betrag", date="Datum")
    body = {"organisation": world.org.pk, "code": "DATEV", "name": "DATEV export", "mapping": gl.as_dict()}
    resp = client.post("/api/v1/source-systems/", body, content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert (resp.json()["kind"], resp.json()["mapping"]) == ("gl_detail", gl.as_dict())
    again = client.post("/api/v1/source-systems/", body, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "source_system_exists")
    bad = client.post("/api/v1/source-systems/", {**body, "code": "X", "mapping": {**gl.as_dict(), "date": None}},
                      content_type="application/json")
    assert (bad.status_code, bad.json()["errors"]) == (400, [
        {"field": "mapping", "message": "GL detail needs a date column", "code": "mapping_invalid"}])
    client.force_login(viewer)
    assert sorted(s["code"] for s in client.get("/api/v1/source-systems/").json()["results"]) == ["DATEV", "SAP"]
    refused = client.post("/api/v1/source-systems/", {**body, "code": "V"}, content_type="application/json")
    assert refused.status_code == 403
    assert SourceSystem.objects.count() == 2


def test_an_outsider_cannot_save_a_source_system_for_another_organisation(client, world, outsider):
    client.force_login(outsider)
    body = {"organisation": world.org.pk, "code": "EVIL", "name": "x", "mapping": TB.as_dict()}
    assert client.post("/api/v1/source-systems/", body, content_type="application/json").status_code == 404
    assert SourceSystem.objects.count() == 1


def test_drill_down_from_a_trial_balance_figure_reaches_the_source_rows(client, world, preparer, viewer):
    client.force_login(preparer)
    first = upload(client, world).json()["id"]
    feb = (b"Account,Name,Debit,Credit\n1000,Cash in Feb,250.00,\n4000,Sales Feb,,250.00\n")
    client.post(URL, {"file": SimpleUploadedFile("feb.csv", feb), "entity": world.entity.code, "period": "2026-02",
                      "source_system": world.source.pk})
    second = ImportBatch.objects.get(file_name="feb.csv").pk
    client.force_login(viewer)
    resp = client.get("/api/v1/reports/trial-balance/lines/",
                      {"entity": world.entity.code, "period": "2026-02", "account": "1100"})
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert [(ln["import_batch_id"], ln["period"], ln["file_name"], ln["source_row"], ln["source_cells"],
             ln["functional_amount"]) for ln in body["lines"]] == [
        (first, "2026-01", "tb_utf8.csv", 2, ["1000", "Kasse Zürich", "1,500.00", ""], "1500.0000"),
        (second, "2026-02", "feb.csv", 2, ["1000", "Cash in Feb", "250.00", ""], "250.0000"),
    ]
    tb = trial_balance(entity=world.entity, period=world.period("2026-02"))
    cash = next(r for r in tb.rows if r.code == "1100")
    assert Decimal(body["functional_total"]) == cash.net == Decimal("1750")
    assert (body["line_count"], body["next_after"]) == (2, None)
    # Income runs from the fiscal year's start; one line a page, continued by line id.
    page = client.get("/api/v1/reports/trial-balance/lines/", {"entity": world.entity.code, "period": "2026-02",
                                                               "account": "4000", "limit": 1}).json()
    assert (page["functional_total"], page["line_count"], len(page["lines"])) == ("-5250.0000", 2, 1)
    rest = client.get("/api/v1/reports/trial-balance/lines/", {"entity": world.entity.code, "period": "2026-02",
                                                               "account": "4000", "after": page["next_after"]}).json()
    assert [ln["source_row"] for ln in page["lines"] + rest["lines"]] == [5, 3]


def test_drill_down_is_scoped_to_entities_the_caller_may_view(client, world, preparer, outsider):
    client.force_login(preparer)
    upload(client, world)
    member(outsider, world.org)  # a member of the organisation, without a role on the entity
    client.force_login(outsider)
    resp = client.get("/api/v1/reports/trial-balance/lines/",
                      {"entity": world.entity.code, "period": "2026-01", "account": "1100"})
    assert resp.status_code == 404


def test_the_general_ledger_lines_carry_batch_and_source_row(client, world, preparer):
    client.force_login(preparer)
    batch_id = upload(client, world).json()["id"]
    gl = client.get("/api/v1/reports/general-ledger/", {"entity": world.entity.code, "period": "2026-01",
                                                        "account": "2100"}).json()
    assert [(ln["import_batch_id"], ln["source_row"]) for ln in gl["lines"]] == [(batch_id, 4)]
