"""manage.py import_file: posts a file, saves the mapping per source system, refuses a duplicate."""
import io
import json

import pytest
from django.core.management import call_command

from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.models import JournalLine

from .helpers import FILES, TB
from .test_import_service import world  # noqa: F401  (fixture)


def test_import_file_posts_saves_the_mapping_and_refuses_the_same_file_again(world, tmp_path):  # noqa: F811
    mapping = tmp_path / "tb.json"
    mapping.write_text(json.dumps(TB.as_dict()))
    out = io.StringIO()
    call_command("import_file", str(FILES / "tb_utf8.csv"), entity="ACME-DE", period="2026-01",
                 mapping=str(mapping), save_as="SAP", no_progress=True, stdout=out)
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.POSTED
    assert f"batch {batch.pk} posted: 4 rows, 1 entries, 4 lines" in out.getvalue()
    assert SourceSystem.objects.get(code="SAP").mapping == TB.as_dict()
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import_file", str(FILES / "tb_utf8.csv"), entity="ACME-DE", period="2026-01",
                     source_system="SAP", no_progress=True, stderr=err)
    assert exc.value.code == 1
    assert f"This file was already imported as batch {batch.pk} (same SHA-256)." in err.getvalue()
    assert (ImportBatch.objects.count(), JournalLine.objects.count()) == (1, 4)


def test_import_file_prints_every_problem_and_posts_nothing(world, tmp_path):  # noqa: F811
    mapping = tmp_path / "tb.json"
    mapping.write_text(json.dumps(TB.as_dict()))
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_file", str(FILES / "tb_unbalanced.csv"), entity="ACME-DE", period="2026-01",
                     mapping=str(mapping), stderr=err, stdout=io.StringIO())
    assert err.getvalue().splitlines()[1:] == [
        "  file, Debit/Credit = '0.01': the trial balance does not balance: debits 100.00, credits 99.99, "
        "difference 0.01 EUR"]
    assert JournalLine.objects.count() == 0


def test_a_file_level_problem_is_printed_once_as_file_not_file_file(world, tmp_path):  # noqa: F811
    mapping = tmp_path / "tb.json"
    mapping.write_text(json.dumps(TB.as_dict()))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"Account,Name,Debit,Credit\n")
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_file", str(empty), entity="ACME-DE", period="2026-01", mapping=str(mapping),
                     stderr=err, stdout=io.StringIO())
    assert err.getvalue().splitlines()[1:] == ["  file: the file has no data rows"]


def test_the_same_rows_are_refused_and_imported_again_only_with_a_reason(world, tmp_path):  # noqa: F811
    mapping = tmp_path / "tb.json"
    mapping.write_text(json.dumps(TB.as_dict()))
    crlf = FILES / "tb_utf8.csv"
    lf = tmp_path / "tb_lf.csv"
    lf.write_bytes(crlf.read_bytes().replace(b"\r\n", b"\n"))
    args = {"entity": "ACME-DE", "period": "2026-01", "mapping": str(mapping), "no_progress": True,
            "stdout": io.StringIO()}
    call_command("import_file", str(crlf), **args)
    first = ImportBatch.objects.get()
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_file", str(lf), stderr=err, **args)
    assert f"file: same rows as batch {first.pk} (tb_utf8.csv)" in err.getvalue()
    call_command("import_file", str(lf), duplicate_rows_reason="second plant", **args)
    again = ImportBatch.objects.get(file_name="tb_lf.csv", status=ImportStatus.POSTED)
    assert again.duplicate_rows_reason == "second plant"


def test_save_as_goes_through_the_service_and_never_overwrites_a_source_system(world, tmp_path):  # noqa: F811
    """#17: --save-as called update_or_create: an existing source system's mapping was replaced
    behind the batches that used it. Now source_system_create refuses it and nothing changes."""
    from dataclasses import replace

    from django.core.management.base import CommandError

    saved = SourceSystem.objects.create(organisation=world.org, code="SAP", name="SAP", kind=str(TB.kind),
                                        mapping=TB.as_dict())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(replace(TB, account="Konto").as_dict()))
    with pytest.raises(CommandError, match=r"Source system SAP .* already exists"):
        call_command("import_file", str(FILES / "tb_utf8.csv"), entity="ACME-DE", period="2026-01",
                     mapping=str(other), save_as="SAP", no_progress=True, stdout=io.StringIO())
    saved.refresh_from_db()
    assert (SourceSystem.objects.count(), saved.mapping, ImportBatch.objects.count()) == (1, TB.as_dict(), 0)


def test_save_as_checks_the_users_rights_like_the_api(world, tmp_path):  # noqa: F811
    from django.core.management.base import CommandError

    from tests.factories import UserFactory

    mapping = tmp_path / "tb.json"
    mapping.write_text(json.dumps(TB.as_dict()))
    outsider = UserFactory()
    with pytest.raises(CommandError, match="Saving a source system needs 'prepare_entries'"):
        call_command("import_file", str(FILES / "tb_utf8.csv"), entity="ACME-DE", period="2026-01",
                     mapping=str(mapping), save_as="SAP", user=outsider.username, no_progress=True,
                     stdout=io.StringIO())
    assert not SourceSystem.objects.exists()
