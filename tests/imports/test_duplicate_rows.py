"""The same rows imported twice double the month, whatever their bytes (issue 15.10): a file whose
rows equal an active batch's is refused, naming that batch, unless a person gives the reason."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.services import import_batch_create, import_batch_run
from ledger.models import JournalEntry
from tests.factories import user_with_role

from .helpers import FILES, TB
from .test_admin import staff
from .test_api import upload
from .test_api import world as api_world  # noqa: F401  (fixture)
from .test_import_service import ledger_state, run_file, world  # noqa: F401  (fixture)

CRLF = (FILES / "tb_utf8.csv").read_bytes()
LF = CRLF.replace(b"\r\n", b"\n")
SEMICOLONS_BOM = ("\ufeffAccount;Name;Debit;Credit\n1000;Kasse Zürich;1,500.00;\n"
                  "1200;\"Forderungen — Müller & Söhne\";12,345.67;\n"
                  "2000;Verbindlichkeiten Société Générale;;8,845.67\n4000;Umsatzerlöse;;5,000.00\n").encode()


def test_the_same_rows_with_other_line_endings_are_refused_naming_the_first_batch(world):  # noqa: F811
    assert CRLF != LF
    first = run_file(world, CRLF, "tb_utf8.csv")
    assert first.status == ImportStatus.POSTED and len(first.rows_sha256) == 64
    before = ledger_state(world)
    again = run_file(world, LF, "tb_utf8_lf.csv")
    assert again.status == ImportStatus.REJECTED
    assert [(e["field"], e["code"]) for e in again.errors] == [("file", "import_duplicate_rows")]
    assert again.errors[0]["message"].startswith(
        f"same rows as batch {first.pk} (tb_utf8.csv), imported on {first.created_at.date().isoformat()}; ")
    assert ledger_state(world) == before


def test_other_delimiter_quoting_and_a_bom_are_the_same_rows_too(world):  # noqa: F811
    assert SEMICOLONS_BOM.count(b";") > 8
    run_file(world, CRLF, "tb_utf8.csv")
    again = run_file(world, SEMICOLONS_BOM, "tb_semicolons.csv")
    assert [e["code"] for e in again.errors] == ["import_duplicate_rows"]


def test_a_reason_lets_the_same_rows_in_again_and_is_kept_on_the_batch(world):  # noqa: F811
    first = run_file(world, CRLF, "tb_utf8.csv")
    again = run_file(world, LF, "tb_utf8_lf.csv", duplicate_rows_reason="  second plant, same chart  ")
    assert (again.status, again.duplicate_rows_reason, again.rows_sha256) == (
        ImportStatus.POSTED, "second plant, same chart", first.rows_sha256)
    assert JournalEntry.objects.filter(import_batch_id__in=[first.pk, again.pk]).count() == 2


def test_a_superseding_file_is_not_refused_for_the_rows_of_the_batch_it_replaces(world):  # noqa: F811
    first = run_file(world, CRLF, "tb_utf8.csv")
    again = run_file(world, LF, "tb_utf8_lf.csv", supersedes=first)
    assert again.status == ImportStatus.POSTED, again.errors


def test_the_database_refuses_two_active_batches_with_the_same_rows(world):  # noqa: F811
    first = run_file(world, CRLF, "tb_utf8.csv")
    second = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                 stream=io.BytesIO(LF), filename="lf.csv", mapping=TB)
    second.rows_sha256 = first.rows_sha256
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save(update_fields=["rows_sha256"])
    second.duplicate_rows_reason = "on purpose"
    second.save(update_fields=["rows_sha256", "duplicate_rows_reason"])
    assert import_batch_run(actor=None, batch_id=second.pk).status == ImportStatus.POSTED


@pytest.fixture
def preparer(api_world):  # noqa: F811
    return user_with_role(api_world.entity, "preparer")


def test_the_api_answers_409_for_the_same_rows_and_takes_the_reason(client, api_world, preparer):  # noqa: F811
    client.force_login(preparer)
    first = upload(client, api_world, data=CRLF).json()
    resp = upload(client, api_world, data=LF, name="tb_lf.csv")
    assert (resp.status_code, resp["Content-Type"], resp.json()["code"]) == (
        409, "application/problem+json", "import_duplicate_rows")
    assert f"same rows as batch {first['id']}" in resp.json()["detail"]
    assert ImportBatch.objects.get(file_name="tb_lf.csv").status == \
        ImportStatus.REJECTED
    ok = upload(client, api_world, data=LF, name="tb_lf.csv", duplicate_rows_reason="restated by the auditors")
    assert ok.status_code == 201, ok.json()
    assert (ok.json()["status"], ok.json()["duplicate_rows_reason"]) == ("posted", "restated by the auditors")


def test_the_admin_upload_form_offers_the_override(client, api_world):  # noqa: F811
    client.force_login(staff(api_world.entity, "preparer"))
    form = {"entity": api_world.entity.pk, "period": api_world.period("2026-01").pk,
            "source_system": api_world.source.pk}
    client.post("/admin/ledger/importbatch/add/", {**form, "file": SimpleUploadedFile("tb.csv", CRLF)})
    page = client.get("/admin/ledger/importbatch/add/").content.decode()
    assert 'name="duplicate_rows_reason"' in page
    client.post("/admin/ledger/importbatch/add/", {**form, "file": SimpleUploadedFile("tb_lf.csv", LF),
                                                  "duplicate_rows_reason": "second plant"})
    again = ImportBatch.objects.get(file_name="tb_lf.csv")
    assert (again.status, again.duplicate_rows_reason) == (ImportStatus.POSTED, "second plant")
    event = AuditEvent.objects.filter(action="import_batch.uploaded", object_id=str(again.pk)).get()
    assert event.changes["duplicate_rows_reason"] == "second plant"
