"""Reading real files: encodings, delimiters, limits, and hostile input ending in a clear error."""
import hashlib
import io
import tracemalloc
import zipfile
from datetime import datetime
from decimal import Decimal

import pytest

from ledger.imports.errors import ImportFileError
from ledger.imports.reading import FileFormat, ImportLimits, inspect_file, iter_rows, sniff_delimiter

from .helpers import FILES, limits

TB_CELLS = [
    ("Account", "Name", "Debit", "Credit"),
    ("1000", "Kasse Zürich", "1,500.00", ""),
    ("1200", "Forderungen — Müller & Söhne", "12,345.67", ""),
    ("2000", "Verbindlichkeiten Société Générale", "", "8,845.67"),
    ("4000", "Umsatzerlöse", "", "5,000.00"),
]


def read(name, sheet=None, **kw):
    with open(FILES / name, "rb") as fh:
        info = inspect_file(fh, limits=limits(), filename=name, **kw)
        rows = list(iter_rows(fh, info, limits=limits(), sheet=sheet))
    return info, rows


def refusal(name_or_bytes, filename="upload.csv", lim=None, sheet=None, **kw):
    data = (FILES / name_or_bytes).read_bytes() if isinstance(name_or_bytes, str) else name_or_bytes
    fh = io.BytesIO(data)
    with pytest.raises(ImportFileError) as exc:
        info = inspect_file(fh, limits=lim or limits(), filename=filename, **kw)
        for _ in iter_rows(fh, info, limits=lim or limits(), sheet=sheet):
            pass
    return exc.value


@pytest.mark.parametrize(("name", "encoding"), [
    ("tb_utf8.csv", "utf-8"), ("tb_utf8_bom.csv", "utf-8-sig"), ("tb_cp1252.csv", "cp1252")])
def test_utf8_bom_and_windows_1252_files_read_to_the_same_rows(name, encoding):
    info, rows = read(name)
    assert (info.format, info.encoding, info.delimiter) == (FileFormat.CSV, encoding, ",")
    assert [r.cells for r in rows] == TB_CELLS
    assert [r.number for r in rows] == [1, 2, 3, 4, 5]


def test_the_content_hash_is_the_sha256_of_the_bytes_and_the_size_is_exact():
    data = (FILES / "tb_cp1252.csv").read_bytes()
    info, _ = read("tb_cp1252.csv")
    assert (info.sha256, info.size) == (hashlib.sha256(data).hexdigest(), len(data))


def test_semicolon_file_with_title_lines_is_sniffed_below_the_title():
    info, rows = read("tb_semicolon_decimal_comma.csv", header_row=3)
    assert (info.encoding, info.delimiter) == ("utf-8", ";")
    assert rows[2].cells == ("Konto", "Bezeichnung", "Soll", "Haben", "Währung")
    assert rows[3].cells == ("1000", "Kasse", "1.500,00", "", "EUR")


def test_tab_delimited_file_is_sniffed():
    info, rows = read("gl_signed_formats.tsv")
    assert info.delimiter == "\t"
    assert rows[2].cells[6] == '=HYPERLINK("http://x.example","click")'


@pytest.mark.parametrize(("sample", "expected"), [
    ("a|b|c\n1|2|3\n", "|"),
    ('a,b,c\n"1,5",2,3\n', ","),
    ("a;b;c\n1,5;2,3;4\n1,6;2;3\n", ";"),
    ("just one column\nvalue\n", ","),
])
def test_delimiter_sniffing_counts_outside_quotes_and_prefers_consistency(sample, expected):
    assert sniff_delimiter(sample) == expected


def test_a_binary_junk_file_is_refused_clearly():
    err = refusal("junk.csv")
    assert (err.code, err.detail) == ("import_binary_file", "the file is binary data, not CSV text or an XLSX workbook")


def test_a_nul_byte_far_into_a_text_file_is_refused():
    err = refusal(b"Account,Name\n" + b"1000,plain\n" * 200_000 + b"2000,\x00\n")
    assert (err.code, err.row, err.detail) == ("import_binary_file", 200_002, "row 200002 contains a NUL byte "
                                               "(byte offset 2,200,018): binary data, not text")


def test_text_posing_as_xlsx_is_refused():
    err = refusal("not_a_workbook.xlsx", filename="not_a_workbook.xlsx")
    assert (err.code, err.detail) == ("import_not_xlsx",
                                      "the file is named .xlsx but is not an XLSX workbook (no zip signature)")


@pytest.mark.parametrize(("data", "code", "detail"), [
    (b"", "import_file_empty", "the file is empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "import_unsupported_format",
     "the file is a legacy .xls or password-protected workbook; save it as .xlsx or CSV"),
    ("Account,Debit\n".encode("utf-16"), "import_unsupported_format",
     "the file is UTF-16 text; export it as UTF-8 or Windows-1252"),
    (b"%PDF-1.7\n...", "import_unsupported_format", "the file is a PDF document, not a data file"),
    (b"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0fabc", "import_binary_file",
     "the file is binary data, not CSV text or an XLSX workbook"),
    (b"Account,Name\n1000,\x81\x8d\n", "import_encoding", "the file is neither UTF-8 nor Windows-1252 text"),
    (b"\xef\xbb\xbfAccount,Name\n1000,Z\xfcrich\n", "import_encoding",
     "the file is not valid UTF-8 (first bad byte at offset 22)"),
])
def test_unreadable_files_end_in_a_clear_error(data, code, detail):
    err = refusal(data)
    assert (err.code, err.detail) == (code, detail)


def test_a_cp1252_file_is_detected_even_when_the_first_accent_is_far_down():
    data = b"Account,Name\n" + b"1000,plain\n" * 200_000 + "2000,Société\n".encode("cp1252")
    fh = io.BytesIO(data)
    info = inspect_file(fh, limits=limits(max_rows=300_000), filename="x.csv")
    last = list(iter_rows(fh, info, limits=limits(max_rows=300_000)))[-1]
    assert (info.encoding, last.number, last.cells) == ("cp1252", 200_002, ("2000", "Société"))


def test_an_extremely_long_line_is_refused_with_its_row_number():
    err = refusal("long_line.csv")
    assert (err.code, err.row, err.detail) == ("import_line_too_long", 3, "row 3 is longer than 65,536 characters")


def test_a_quoted_field_spanning_lines_counts_towards_the_line_limit():
    data = b'Account,Name\n1000,"' + b"x\n" * 40 + b'"\n'
    err = refusal(data, lim=limits(max_line_chars=50))
    assert (err.code, err.row) == ("import_line_too_long", 2)


def test_malformed_quoting_is_refused_with_the_row():
    err = refusal(b'Account,Name\n1000,ok\n2000,"broken"x\n')
    assert (err.code, err.row) == ("import_csv_malformed", 3)


def test_size_and_row_limits_are_enforced():
    big = refusal("tb_utf8.csv", lim=limits(max_bytes=100))
    assert (big.code, big.status, big.detail) == ("import_file_too_large", 413,
                                                  "the file is larger than the limit of 100 bytes")
    many = refusal("tb_utf8.csv", lim=limits(max_rows=3))
    assert (many.code, many.row, many.detail) == ("import_too_many_rows", 4, "the file has more than 3 rows")
    wide = refusal(b"a" + b",a" * 20 + b"\n", lim=limits(max_columns=10))
    assert (wide.code, wide.detail) == ("import_too_many_columns", "row 1 has 21 columns, over the limit of 10")


def test_limits_come_from_settings(settings):
    settings.SHESHI_IMPORT_MAX_BYTES, settings.SHESHI_IMPORT_MAX_ROWS = 1234, 56
    lim = ImportLimits.from_settings()
    assert (lim.max_bytes, lim.max_rows) == (1234, 56)


def test_xlsx_reads_numbers_as_decimals_formulas_as_text_and_dates_as_dates():
    info, rows = read("tb_formulas.xlsx")
    assert info.format == FileFormat.XLSX and info.encoding is None
    assert [r.cells for r in rows] == [
        ("Account", "Name", "Debit", "Credit", "Date"),
        (Decimal(1000), '=HYPERLINK("http://x.example","cash")', Decimal(1500), "", datetime(2026, 1, 31)),
        ("1200", "-Receivables", Decimal("12345.67"), "", datetime(2026, 1, 31)),
        (Decimal(2000), "+Payables", "", Decimal("8845.67"), datetime(2026, 1, 31)),
        (Decimal(4000), "@Revenue", "", "=C2+C3-D4", datetime(2026, 1, 31)),
        (Decimal(5000), "Rounding noise", Decimal("0.3"), "", datetime(2026, 1, 31)),
    ]
    assert not any(isinstance(c, float) for r in rows for c in r.cells)


def test_a_named_sheet_is_read_and_a_missing_one_is_refused():
    _, rows = read("tb_formulas.xlsx", sheet="Notes")
    assert [r.cells for r in rows] == [("prepared by", "someone")]
    err = refusal("tb_formulas.xlsx", filename="tb.xlsx", sheet="Balances")
    assert (err.code, err.detail) == ("import_sheet_missing",
                                      "sheet 'Balances' not found; the workbook has: Trial balance, Notes")


def _workbook_with(members: dict[str, bytes | int], *, declared: dict[str, int] | None = None) -> bytes:
    """A real workbook whose parts are replaced: bytes as given, an int as that many spaces inside
    a valid sheet (written in chunks, so the test never holds it in memory either)."""
    src = zipfile.ZipFile(FILES / "tb_formulas.xlsx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for item in src.infolist():
            body = members.get(item.filename, src.read(item.filename))
            if isinstance(body, int):
                with zf.open(item.filename, "w", force_zip64=True) as dst:
                    dst.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                              b"<sheetData>")
                    for _ in range(body // (1 << 20)):
                        dst.write(b" " * (1 << 20))
                    dst.write(b"</sheetData></worksheet>")
            else:
                zf.writestr(item.filename, body)
    data = bytearray(out.getvalue())
    for name, size in (declared or {}).items():  # make the central directory lie about a size
        at = 0
        while True:
            at = data.index(b"PK\x01\x02", at)
            length = int.from_bytes(data[at + 28:at + 30], "little")
            if data[at + 46:at + 46 + length] == name.encode():
                break
            at += 4
        if data[at + 24:at + 28] == b"\xff\xff\xff\xff":  # zip64: the real size sits in the extra field
            data[at + 46 + length + 4:at + 46 + length + 12] = size.to_bytes(8, "little")
        else:
            data[at + 24:at + 28] = size.to_bytes(4, "little")
    return bytes(data)


def test_a_zip_bomb_posing_as_xlsx_is_refused_from_the_directory_before_inflating():
    bomb = _workbook_with({"xl/worksheets/sheet1.xml": 64 << 20})  # 64 MiB of spaces, tiny on disk
    assert len(bomb) < 200_000
    tracemalloc.start()
    err = refusal(bomb, filename="bomb.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert err.code == "import_zip_bomb"
    assert err.detail.startswith("part xl/worksheets/sheet1.xml inflates ")
    assert err.detail.endswith(" times (67,108,976 bytes): refused as a zip bomb")
    assert peak < 4 << 20


def test_a_workbook_inflating_past_the_total_limit_is_refused():
    bomb = _workbook_with({"xl/worksheets/sheet1.xml": 64 << 20})
    err = refusal(bomb, filename="bomb.xlsx", lim=limits(xlsx_max_ratio=10**9, xlsx_max_uncompressed=32 << 20))
    assert err.code == "import_zip_bomb"
    assert err.detail.startswith("the workbook inflates to 67,")
    assert err.detail.endswith(" bytes, over the limit of 33,554,432: refused as a zip bomb")


def test_a_zip_directory_that_lies_about_sizes_still_cannot_inflate_past_them():
    liar = _workbook_with({"xl/worksheets/sheet1.xml": 64 << 20}, declared={"xl/worksheets/sheet1.xml": 5000})
    tracemalloc.start()
    err = refusal(liar, filename="liar.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (err.code, err.detail) == (
        "import_not_xlsx", "the workbook cannot be read: a part of the workbook is damaged (its compressed data "
        "does not check out)")
    assert peak < 8 << 20


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "hello")
    err = refusal(out.getvalue(), filename="archive.zip")
    assert (err.code, err.detail) == ("import_not_xlsx", "the file is a zip archive but not an XLSX workbook")


def test_malformed_csv_is_described_in_our_words_not_the_csv_module_s():
    err = refusal(b'Account,Name\n1000,"Cash "x" box"\n')
    assert (err.code, err.row, err.detail) == (
        "import_csv_malformed", 2, 'row 2 is not well-formed CSV: a quote inside a quoted value is not doubled ("")')
