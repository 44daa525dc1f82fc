"""Files the ledger cannot take are refused by validation, naming their rows, never by a database
rule at posting (issue 15.9); a refusal that still comes from the posting names the rows too."""
import io
from decimal import Decimal

import pytest

from ledger.imports.errors import ImportFileError
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus
from ledger.imports.validation import RowValidator
from ledger.models import JournalEntry

from .test_import_service import ledger_state, run_file, world  # noqa: F401  (fixture)

GL = ColumnMapping(kind=ImportKind.GL_DETAIL, account="Account", amount="Amount", date="Date", reference="Doc",
                   description="Text")


def problems(batch):
    return [(e.get("row"), e["field"], e["code"]) for e in batch.errors]


@pytest.mark.parametrize("amount", [b"", b"-0.00", b"0"])
def test_a_zero_or_blank_gl_line_is_refused_by_validation_naming_its_row(world, amount):  # noqa: F811
    before = ledger_state(world)
    data = (b"Date,Doc,Account,Amount,Text\n2026-01-05,INV-1,1200,10.00,Invoice\n"
            b"2026-01-05,INV-1,4000,-10.00,Invoice\n2026-01-05,INV-1,1000," + amount + b",Nothing\n")
    batch = run_file(world, data, "gl.csv", mapping=GL)
    assert batch.status == ImportStatus.REJECTED
    assert problems(batch) == [(4, "Amount", "amount_zero")]
    assert "line_not_zero" not in str(batch.errors)
    assert ledger_state(world) == before


def test_a_zero_balance_row_of_a_trial_balance_is_not_posted(world):  # noqa: F811
    data = b"Account,Name,Debit,Credit\n1000,Cash,100.00,\n1200,Receivables,,\n4000,Sales,,100.00\n"
    batch = run_file(world, data, "tb.csv")
    assert (batch.status, batch.row_count, batch.line_count) == (ImportStatus.POSTED, 3, 2), batch.errors


def test_a_document_spanning_two_dates_is_refused_by_validation_naming_the_row(world):  # noqa: F811
    before = ledger_state(world)
    data = (b"Date,Doc,Account,Amount,Text\n2026-01-05,INV-1,1200,10.00,Invoice\n"
            b"2026-01-06,INV-1,4000,-10.00,Invoice\n")
    batch = run_file(world, data, "gl.csv", mapping=GL)
    assert batch.status == ImportStatus.REJECTED
    assert problems(batch) == [(3, "Date", "document_dates_differ")]
    assert batch.errors[0]["message"] == ("document INV-1 starts on row 2 dated 2026-01-05: the lines of one "
                                          "document must share one date")
    assert ledger_state(world) == before


def test_a_refusal_at_posting_comes_back_as_a_rejection_naming_the_source_rows(world, monkeypatch):  # noqa: F811
    """Should validation miss something, the ledger's ``entries[i]`` is translated to the file's rows."""
    monkeypatch.setattr(RowValidator, "_track_group", lambda *args: None)  # validation blind to documents
    before = ledger_state(world)
    data = (b"Date,Doc,Account,Amount,Text\n2026-01-05,INV-0,1000,5.00,Cash\n2026-01-05,INV-0,4000,-5.00,Sale\n"
            b"2026-01-05,INV-1,1200,10.00,Invoice\n2026-01-05,INV-1,4000,-4.00,Invoice\n"
            b"2026-01-06,INV-1,4000,-6.00,Invoice\n")
    batch = run_file(world, data, "gl.csv", mapping=GL)
    assert batch.status == ImportStatus.REJECTED
    assert problems(batch) == [(4, "Doc", "unbalanced"), (6, "Doc", "too_few_lines")]
    assert [e["message"] for e in batch.errors] == [
        "Functional amounts sum to 6.0000, not 0. (the entry from rows 4–5)",
        "An entry needs at least two lines. (the entry from row 6)"]
    assert ledger_state(world) == before
    assert not JournalEntry.objects.filter(import_batch_id=batch.pk).exists()
    assert (batch.debit_total, batch.entry_count) == (Decimal("15.00"), 0)


def _workbook(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_unreadable_workbook_is_refused_without_the_storage_path_or_the_library_wording(world, monkeypatch):  # noqa: F811
    """openpyxl's own message names the file it read: for a stored upload, the server's storage path."""
    from openpyxl.reader.excel import ExcelReader

    def broken(self):
        raise ValueError("shared strings table is damaged")

    monkeypatch.setattr(ExcelReader, "read_strings", broken)
    before = ledger_state(world)
    batch = run_file(world, _workbook([["Account", "Name", "Debit", "Credit"], ["1000", "Cash", 1, None]]), "tb.xlsx")
    assert batch.status == ImportStatus.REJECTED
    assert [(e["field"], e["code"]) for e in batch.errors] == [("file", "import_not_xlsx")]
    message = batch.errors[0]["message"]
    assert message == ("the workbook cannot be read: it is damaged or not a standard XLSX workbook; open it and "
                       "save it again as .xlsx, or export CSV")
    for leak in ("/", "media", "imports", "could not", "openpyxl", "ValueError", "shared strings table"):
        assert leak not in message
    assert ledger_state(world) == before


def test_a_nul_byte_is_reported_with_its_row_and_byte_offset(world):  # noqa: F811
    data = b"Account,Name,Debit,Credit\n1000,Cash,1.00,\n4000,Sa\x00les,,1.00\n"
    with pytest.raises(ImportFileError) as exc:
        run_file(world, data, "tb.csv")
    assert [(e.row, e.field, e.code, e.message) for e in exc.value.errors] == [
        (3, "file", "import_binary_file", "row 3 contains a NUL byte (byte offset 49): binary data, not text")]
    assert not ImportBatch.objects.exists()


def test_a_row_with_more_values_than_the_header_has_columns_is_refused_naming_the_row(world):  # noqa: F811
    before = ledger_state(world)
    data = b"Account,Name,Debit,Credit\n1000,Cash,100.00,\n4000,Sales,,100.00,oops\n"
    batch = run_file(world, data, "tb.csv")
    assert batch.status == ImportStatus.REJECTED
    assert [(e.get("row"), e["code"], e.get("value"), e["message"]) for e in batch.errors] == [
        (3, "row_too_wide", "oops", "the row has a value in column 5, but the header row has 4 columns")]
    assert ledger_state(world) == before


def test_extra_blank_cells_beyond_the_header_are_fine(world):  # noqa: F811
    batch = run_file(world, b"Account,Name,Debit,Credit\n1000,Cash,100.00,,,\n4000,Sales,,100.00, \n", "tb.csv")
    assert batch.status == ImportStatus.POSTED, batch.errors


def test_a_functional_amount_of_the_other_sign_is_refused_by_validation_naming_the_row(world):  # noqa: F811
    """PostgreSQL's line_amount_signs_agree would otherwise refuse it at posting, naming no row."""
    before = ledger_state(world)
    mapping = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Account", amount="Amount", currency="Cur",
                            functional_amount="Amount EUR")
    data = b"Account,Amount,Cur,Amount EUR\n1000,10.00,USD,-9.00\n4000,9.00,EUR,\n"
    batch = run_file(world, data, "tb.csv", mapping=mapping)
    assert batch.status == ImportStatus.REJECTED
    assert problems(batch) == [(2, "Amount EUR", "functional_sign")]
    assert ledger_state(world) == before


def test_a_functional_amount_implying_a_rate_too_large_to_store_is_refused_naming_the_row(world):  # noqa: F811
    before = ledger_state(world)
    mapping = ColumnMapping(kind=ImportKind.TRIAL_BALANCE, account="Account", amount="Amount", currency="Cur",
                            functional_amount="Amount EUR")
    data = b"Account,Amount,Cur,Amount EUR\n1000,0.0001,JPY,1000000000.00\n4000,-1000000000.00,EUR,\n"
    batch = run_file(world, data, "tb.csv", mapping=mapping)
    assert batch.status == ImportStatus.REJECTED
    assert problems(batch) == [(2, "rate", "invalid_rate")]
    assert ledger_state(world) == before
