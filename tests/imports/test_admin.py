"""Import pages in the admin: scoped batch list and detail, the stored file, the upload page
(through the same service as the API) and source systems validated like the API's."""
import io
import json
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from psycopg.types.range import Range

from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.imports.services import import_batch_create, import_batch_run
from ledger.models import JournalEntry, LocalAccountMapping
from tests.factories import user_with_role
from tests.ledger.helpers import build_world

from .helpers import FILES, TB

pytestmark = pytest.mark.django_db
TB_UTF8 = (FILES / "tb_utf8.csv").read_bytes()


@pytest.fixture
def world(db):
    w = build_world()
    for entity in (w.entity, w.other):
        for local, group in {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}.items():
            LocalAccountMapping.objects.create(organisation=w.org, entity=entity, local_code=local,
                                               account=w.accounts[group], valid=Range(date(2020, 1, 1), None))
    w.source = SourceSystem.objects.create(organisation=w.org, code="SAP", name="SAP", kind="trial_balance",
                                           mapping=TB.as_dict())
    return w


def staff(entity, role):
    user = user_with_role(entity, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="ledger"))
    return user


def imported(world, entity, data=TB_UTF8, name="tb.csv"):
    batch = import_batch_create(actor=None, entity=entity, period=world.period("2026-01"), stream=io.BytesIO(data),
                                filename=name, mapping=TB, source_system=world.source)
    return import_batch_run(actor=None, batch_id=batch.pk)


def test_the_batch_list_shows_only_entities_the_user_may_view(client, world):
    mine, theirs = imported(world, world.entity, name="mine.csv"), imported(world, world.other, name="theirs.csv")
    client.force_login(staff(world.entity, "viewer"))
    page = client.get("/admin/ledger/importbatch/").content.decode()
    assert "mine.csv" in page and "theirs.csv" not in page
    assert client.get(f"/admin/ledger/importbatch/{theirs.pk}/change/").status_code == 302  # admin: "not found"
    assert client.get(f"/admin/ledger/importbatch/{theirs.pk}/file/").status_code == 404
    assert client.get(f"/admin/ledger/importbatch/{mine.pk}/change/").status_code == 200


def test_the_batch_page_shows_problems_progress_the_stored_file_and_its_entries(client, world):
    rejected = imported(world, world.entity, data=b"Account,Name,Debit,Credit\n7777,Mystery,1.00,\n", name="bad.csv")
    posted = imported(world, world.entity)
    client.force_login(staff(world.entity, "viewer"))
    bad = client.get(f"/admin/ledger/importbatch/{rejected.pk}/change/").content.decode()
    assert "<td>2</td><td>Account</td><td>7777</td><td>unknown account</td>" in bad
    good = client.get(f"/admin/ledger/importbatch/{posted.pk}/change/").content.decode()
    assert f'href="/admin/ledger/journalentry/?import_batch_id={posted.pk}"' in good
    assert "4 / 4 rows" in good
    download = client.get(f"/admin/ledger/importbatch/{posted.pk}/file/")
    assert b"".join(download.streaming_content) == TB_UTF8
    entries = client.get(f"/admin/ledger/journalentry/?import_batch_id={posted.pk}").content.decode()
    assert f"Import {posted.pk}: tb.csv" in entries


def test_the_upload_page_imports_through_the_service(client, world):
    client.force_login(staff(world.entity, "preparer"))
    page = client.get("/admin/ledger/importbatch/add/").content.decode()
    assert world.entity.code in page and world.other.code not in page  # only entities the user may prepare
    resp = client.post("/admin/ledger/importbatch/add/", {
        "entity": world.entity.pk, "period": world.period("2026-01").pk, "source_system": world.source.pk,
        "file": SimpleUploadedFile("tb_utf8.csv", TB_UTF8)})
    batch = ImportBatch.objects.get()
    assert (resp.status_code, resp["Location"]) == (302, f"/admin/ledger/importbatch/{batch.pk}/change/")
    assert (batch.status, JournalEntry.objects.filter(import_batch_id=batch.pk).count()) == (ImportStatus.POSTED, 1)
    again = client.post("/admin/ledger/importbatch/add/", {
        "entity": world.entity.pk, "period": world.period("2026-01").pk, "source_system": world.source.pk,
        "file": SimpleUploadedFile("copy.csv", TB_UTF8)})
    assert again.status_code == 200
    assert f"This file was already imported as batch {batch.pk}" in again.content.decode()
    assert ImportBatch.objects.count() == 1


def test_the_upload_page_refuses_an_entity_the_user_may_not_prepare(client, world):
    client.force_login(staff(world.entity, "preparer"))
    resp = client.post("/admin/ledger/importbatch/add/", {
        "entity": world.other.pk, "period": world.period("2026-01").pk, "source_system": world.source.pk,
        "file": SimpleUploadedFile("tb_utf8.csv", TB_UTF8)})
    assert resp.status_code == 200 and "Select a valid choice" in resp.content.decode()
    client.force_login(staff(world.entity, "viewer"))
    assert client.get("/admin/ledger/importbatch/add/").status_code == 403
    assert ImportBatch.objects.count() == 0


def test_a_source_system_mapping_is_validated_before_it_is_saved(client, world):
    client.force_login(staff(world.entity, "controller"))
    gl = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Konto", amount="Betrag", date="Datum")
    form = {"organisation": world.org.pk, "code": "DATEV", "name": "DATEV"}
    bad = client.post("/admin/ledger/sourcesystem/add/", {**form, "mapping": json.dumps({**gl.as_dict(),
                                                                                        "date": None})})
    assert bad.status_code == 200 and "GL detail needs a date column" in bad.content.decode()
    assert SourceSystem.objects.count() == 1
    ok = client.post("/admin/ledger/sourcesystem/add/", {**form, "mapping": json.dumps(gl.as_dict())})
    assert ok.status_code == 302
    saved = SourceSystem.objects.get(code="DATEV")
    assert (saved.kind, saved.mapping) == ("gl_detail", gl.as_dict())


def test_source_systems_of_other_organisations_are_not_listed(client, world):
    other = build_world("ELSE")
    SourceSystem.objects.create(organisation=other.org, code="HIDDEN", name="x", kind="trial_balance",
                                mapping=TB.as_dict())
    client.force_login(staff(world.entity, "controller"))
    page = client.get("/admin/ledger/sourcesystem/").content.decode()
    assert "SAP" in page and "HIDDEN" not in page
