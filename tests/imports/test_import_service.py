"""Importing into the ledger: whole files posted with lineage, refusals that change nothing,
the same file refused by its hash, corrections by reversal, drill-down to the source row."""
import hashlib
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from psycopg.types.range import Range

from ledger.imports.errors import ImportFileError
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.selectors import tb_line_source_rows
from ledger.imports.services import DuplicateImportError, import_batch_create, import_batch_run, storage_name
from ledger.models import Balance, EntrySource, JournalEntry, JournalLine, LocalAccountMapping
from periods.models import EntityPeriod, PeriodState
from sheshi.errors import PermissionDenied
from tests.factories import user_with_role
from tests.ledger.helpers import build_world

from .helpers import FILES, TB

LOCAL = {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}


@pytest.fixture
def world(db):
    w = build_world()
    for local, group in LOCAL.items():
        LocalAccountMapping.objects.create(organisation=w.org, entity=w.entity, local_code=local,
                                           account=w.accounts[group], valid=Range(date(2020, 1, 1), None))
    LocalAccountMapping.objects.create(organisation=w.org, entity=w.entity, local_code="9999",
                                       account=w.accounts["5100"], valid=Range(date(2020, 1, 1), date(2025, 1, 1)))
    return w


def ledger_state(world):
    return (JournalEntry.objects.count(), JournalLine.objects.count(),
            sorted(Balance.objects.filter(entity_id=world.entity.pk)
                   .values_list("account_id", "currency", "functional_debit", "functional_credit", "line_count")))


def run_file(world, data: bytes, name: str, mapping=TB, actor=None, **kw):
    batch = import_batch_create(actor=actor, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO(data), filename=name, mapping=mapping, **kw)
    return import_batch_run(actor=actor, batch_id=batch.pk)


def test_a_trial_balance_file_posts_in_one_entry_with_lineage_on_every_line(world):
    data = (FILES / "tb_utf8.csv").read_bytes()
    batch = run_file(world, data, "tb_utf8.csv")
    assert (batch.status, batch.row_count, batch.entry_count, batch.line_count, batch.error_count) == (
        ImportStatus.POSTED, 4, 1, 4, 0)
    assert (batch.debit_total, batch.credit_total) == (Decimal("13845.67"), Decimal("13845.67"))
    entry = JournalEntry.objects.get(import_batch_id=batch.pk)
    assert (entry.source, entry.status, entry.entry_date, entry.period.code) == (
        EntrySource.IMPORT, "posted", date(2026, 1, 31), "2026-01")
    lines = list(JournalLine.objects.filter(entry=entry).order_by("line_no")
                 .values_list("account__code", "amount", "memo", "import_batch_id", "source_row", "source_raw"))
    assert lines == [
        ("1100", Decimal("1500.0000"), "Kasse Zürich", batch.pk, 2, '["1000", "Kasse Zürich", "1,500.00", ""]'),
        ("1200", Decimal("12345.6700"), "Forderungen — Müller & Söhne", batch.pk, 3,
         '["1200", "Forderungen — Müller & Söhne", "12,345.67", ""]'),
        ("2100", Decimal("-8845.6700"), "Verbindlichkeiten Société Générale", batch.pk, 4,
         '["2000", "Verbindlichkeiten Société Générale", "", "8,845.67"]'),
        ("4100", Decimal("-5000.0000"), "Umsatzerlöse", batch.pk, 5, '["4000", "Umsatzerlöse", "", "5,000.00"]'),
    ]
    assert (batch.file_path, batch.sha256) == (storage_name(batch.sha256), hashlib.sha256(data).hexdigest())
    with default_storage.open(batch.file_path, "rb") as fh:
        assert fh.read() == data


def test_drill_down_from_a_trial_balance_line_reaches_the_exact_source_row(world):
    batch = run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv")
    period = world.period("2026-01")
    balance = Balance.objects.get(entity_id=world.entity.pk, period_id=period.pk, account_id=world.acc("2100"))
    rows = tb_line_source_rows(entity_id=world.entity.pk, period_id=period.pk, account_id=world.acc("2100"))
    assert [(r.import_batch_id, r.file_name, r.source_row, r.source_cells, r.functional_amount) for r in rows] == [
        (batch.pk, "tb_utf8.csv", 4, ["2000", "Verbindlichkeiten Société Générale", "", "8,845.67"],
         Decimal("-8845.6700"))]
    assert sum(r.functional_amount for r in rows) == balance.functional_debit - balance.functional_credit


@pytest.mark.parametrize(("name", "expected"), [
    ("tb_unbalanced.csv", [{"field": "Debit/Credit", "code": "not_balanced", "value": "0.01", "message":
                            "the trial balance does not balance: debits 100.00, credits 99.99, difference 0.01 EUR"}]),
    ("junk.csv", [{"field": "file", "code": "import_binary_file",
                   "message": "the file is binary data, not CSV text or an XLSX workbook"}]),
])
def test_a_rejected_file_leaves_the_ledger_unchanged(world, name, expected):
    before = ledger_state(world)
    data = (FILES / name).read_bytes()
    if name == "junk.csv":  # unreadable: refused before a batch exists
        with pytest.raises(ImportFileError) as exc:
            run_file(world, data, name)
        assert [e.as_dict() for e in exc.value.errors] == expected
        assert ImportBatch.objects.count() == 0
    else:
        batch = run_file(world, data, name)
        assert (batch.status, batch.error_count, batch.errors) == (ImportStatus.REJECTED, 1, expected)
    assert ledger_state(world) == before


def test_unknown_and_unmapped_local_accounts_are_reported_and_nothing_is_posted(world):
    before = ledger_state(world)
    data = b"Account,Name,Debit,Credit\n1000,Cash,10.00,\n7777,Mystery,,4.00\n9999,Old,,6.00\n"
    batch = run_file(world, data, "tb.csv")
    assert batch.status == ImportStatus.REJECTED
    assert [(e["row"], e["field"], e["value"], e["message"]) for e in batch.errors] == [
        (3, "Account", "7777", "unknown account"),
        (4, "Account", "9999", "not mapped to the group chart on 2026-01-31"),
    ]
    assert ledger_state(world) == before


def test_a_period_that_is_not_open_rejects_the_file(world):
    ep = EntityPeriod.objects.get(entity=world.entity, period=world.period("2026-01"))
    ep.state = PeriodState.SOFT_CLOSED
    ep.save(update_fields=["state"])
    before = ledger_state(world)
    batch = run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv")
    assert batch.status == ImportStatus.REJECTED
    assert [(e["field"], e["value"], e["message"]) for e in batch.errors] == [
        ("period", "ACME-DE 2026-01 (soft_closed)", "the period is not open")]
    assert ledger_state(world) == before


def test_the_same_file_imported_twice_is_refused_by_its_hash(world):
    data = (FILES / "tb_utf8.csv").read_bytes()
    first = run_file(world, data, "tb_utf8.csv")
    before = (ledger_state(world), ImportBatch.objects.count())
    with pytest.raises(DuplicateImportError) as exc:
        run_file(world, data, "renamed.csv")
    assert (exc.value.status, exc.value.code, exc.value.context["batch_id"]) == (409, "import_duplicate", first.pk)
    assert (ledger_state(world), ImportBatch.objects.count()) == before


def test_the_database_refuses_a_second_active_batch_for_the_same_file(world):
    """Raw SQL as the application's role: the unique rule holds without the service's check."""
    first = run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv")
    with pytest.raises(IntegrityError) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute("""INSERT INTO ledger_importbatch (organisation_id, entity_id, period_id, kind, mapping,
                       file_name, file_path, sha256, size, status, row_count, rows_done, entry_count, line_count,
                       debit_total, credit_total, error_count, errors, created_at)
                       SELECT organisation_id, entity_id, period_id, kind, mapping, 'again.csv', file_path,
                              sha256, size, 'pending', 0, 0, 0, 0, 0, 0, 0, '[]', now()
                       FROM ledger_importbatch WHERE id = %s""", [first.pk])
    assert exc.value.__cause__.diag.constraint_name == "import_same_file_once"
    assert ImportBatch.objects.count() == 1


def test_a_rejected_file_may_be_imported_again_once_fixed_but_not_while_pending(world):
    data = (FILES / "tb_unbalanced.csv").read_bytes()
    assert run_file(world, data, "a.csv").status == ImportStatus.REJECTED
    retry = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO(data), filename="a.csv", mapping=TB)
    assert retry.status == ImportStatus.PENDING
    with pytest.raises(DuplicateImportError):
        import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                            stream=io.BytesIO(data), filename="a.csv", mapping=TB)


def test_a_corrected_file_supersedes_the_earlier_batch_by_reversal_never_deletion(world):
    first = run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv")
    corrected = (b"Account,Name,Debit,Credit\n1000,Cash,1600.00,\n1200,Receivables,12345.67,\n"
                 b"2000,Payables,,8945.67\n4000,Revenue,,5000.00\n")
    second = run_file(world, corrected, "tb_fixed.csv", supersedes=first)
    first.refresh_from_db()
    assert (first.status, second.status, second.supersedes_id) == (ImportStatus.SUPERSEDED, ImportStatus.POSTED,
                                                                   first.pk)
    original = JournalEntry.objects.get(import_batch_id=first.pk, source=EntrySource.IMPORT)
    reversal = JournalEntry.objects.get(reverses=original)
    assert (reversal.source, reversal.status) == (EntrySource.REVERSAL, "posted")
    assert JournalLine.objects.filter(entry=original).count() == 4  # still there, still visible
    period = world.period("2026-01")
    net = {b.account_id: b.functional_debit - b.functional_credit
           for b in Balance.objects.filter(entity_id=world.entity.pk, period_id=period.pk)}
    assert net == {world.acc("1100"): Decimal("1600.0000"), world.acc("1200"): Decimal("12345.6700"),
                   world.acc("2100"): Decimal("-8945.6700"), world.acc("4100"): Decimal("-5000.0000")}
    rows = tb_line_source_rows(entity_id=world.entity.pk, period_id=period.pk, account_id=world.acc("1100"))
    assert [(r.import_batch_id, r.source_row, r.functional_amount) for r in rows] == [
        (first.pk, 2, Decimal("1500.0000")), (None, None, Decimal("-1500.0000")), (second.pk, 2, Decimal("1600.0000"))]


def test_gl_detail_posts_one_entry_per_source_document(world):
    mapping = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Account", amount="Amount", date="Date",
                            reference="Doc", description="Text", dimensions={"cost_centre": "CC"})
    data = (b"Date;Doc;Account;Amount;Text;CC\n2026-01-05;INV-1;1200;1.234,56;Invoice;\n"
            b"2026-01-05;INV-1;4000;1.234,56-;=1+1;S1\n2026-01-09;PAY-1;1000;100,00;Payment;\n"
            b"2026-01-09;PAY-1;1200;(100,00);Payment;\n")
    batch = run_file(world, data, "gl.csv", mapping=ColumnMapping.from_dict({**mapping.as_dict(),
                                                                             "decimal_comma": True}))
    assert (batch.status, batch.entry_count, batch.line_count) == (ImportStatus.POSTED, 2, 4), batch.errors
    entries = list(JournalEntry.objects.filter(import_batch_id=batch.pk).order_by("pk")
                   .values_list("entry_date", "description"))
    assert entries == [(date(2026, 1, 5), f"Import {batch.pk}: gl.csv INV-1"),
                       (date(2026, 1, 9), f"Import {batch.pk}: gl.csv PAY-1")]
    line = JournalLine.objects.get(import_batch_id=batch.pk, source_row=3)
    assert (line.memo, line.dimensions, line.amount, json.loads(line.source_raw)) == (
        "=1+1", {"cost_centre": "S1"}, Decimal("-1234.5600"),
        ["2026-01-05", "INV-1", "4000", "1.234,56-", "=1+1", "S1"])


def test_a_person_without_prepare_rights_cannot_import_and_nothing_is_stored(world):
    viewer = user_with_role(world.entity, "viewer")
    with pytest.raises(PermissionDenied):
        run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv", actor=viewer)
    assert ImportBatch.objects.count() == 0


def test_running_a_batch_twice_posts_it_once(world):
    batch = run_file(world, (FILES / "tb_utf8.csv").read_bytes(), "tb_utf8.csv")
    again = import_batch_run(actor=None, batch_id=batch.pk)
    assert (again.status, JournalEntry.objects.filter(import_batch_id=batch.pk).count()) == (ImportStatus.POSTED, 1)


def test_the_job_runs_a_batch_and_a_second_delivery_changes_nothing(world):
    from ledger.imports.tasks import import_batch_run_task

    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes()), filename="tb.csv",
                                mapping=TB)
    assert import_batch_run_task(batch.pk) == ImportStatus.POSTED
    state = ledger_state(world)
    assert import_batch_run_task(batch.pk) == ImportStatus.POSTED
    assert ledger_state(world) == state


def _stranded_batch(world, started_ago):
    """A batch whose job worker was killed mid-run: 'running' since ``started_ago``, nothing posted."""

    from django.utils import timezone

    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes()), filename="tb.csv",
                                mapping=TB)
    batch.status, batch.started_at = ImportStatus.RUNNING, timezone.now() - started_ago
    batch.save(update_fields=["status", "started_at"])
    return batch


def test_a_redelivered_job_finishes_a_batch_whose_worker_was_lost(world):
    from ledger.imports.tasks import import_batch_run_task
    from sheshi.jobs.timeouts import job_stale_after

    batch = _stranded_batch(world, job_stale_after() * 2)
    assert import_batch_run_task(batch.pk) == ImportStatus.POSTED
    assert JournalEntry.objects.filter(import_batch_id=batch.pk).count() == 1


def test_a_batch_running_under_a_live_worker_is_left_to_it(world):
    from datetime import timedelta

    from ledger.imports.tasks import import_batch_run_task

    batch = _stranded_batch(world, timedelta(seconds=1))
    state = ledger_state(world)
    assert import_batch_run_task(batch.pk) == ImportStatus.RUNNING
    assert ledger_state(world) == state


def test_an_attempt_that_lost_the_batch_to_a_restart_writes_nothing(world, monkeypatch):
    """The first attempt is still alive when a redelivery restarts the batch: it validates and
    posts, but at the end it no longer owns the batch and its whole transaction rolls back."""
    from ledger.imports import services

    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes()), filename="tb.csv",
                                mapping=TB)
    state = ledger_state(world)
    real_finish = services._finish

    def restarted_meanwhile(batch_id, attempt, **fields):
        from django.utils import timezone

        ImportBatch.objects.filter(pk=batch_id).update(started_at=timezone.now())  # the later attempt's mark
        return real_finish(batch_id, attempt, **fields)

    monkeypatch.setattr(services, "_finish", restarted_meanwhile)
    with pytest.raises(services.ImportAttemptLostError):
        import_batch_run(actor=None, batch_id=batch.pk)
    assert ledger_state(world) == state
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.RUNNING
