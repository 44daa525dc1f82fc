"""Read an uploaded CSV or XLSX as numbered rows, streaming, with memory bounded by the limits.

Two passes over a seekable binary stream (an upload is spooled to disk by Django anyway):

1. ``inspect_file`` reads the bytes once: SHA-256 and size (refused past ``max_bytes`` without
   reading further), what the file really is (by content, not by name), the text encoding
   (UTF-8 with or without BOM, else Windows-1252, decided on the whole file, not a sample), the
   delimiter; for XLSX the zip directory is checked before anything is inflated.
2. ``iter_rows`` yields ``SourceRow(number, cells)`` one at a time. Row numbers are 1-based
   records as a spreadsheet shows them (the header row included).

Cells are ``str`` for CSV; for XLSX also ``Decimal`` (numbers, never float), ``datetime``.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import BinaryIO, NamedTuple

from django.conf import settings

from .errors import ImportFileError
from .mapping import DELIMITERS
from .numbers import AmountError, decimal_from_excel

CHUNK = 256 * 1024
SNIFF_BYTES = 64 * 1024
Cell = str | Decimal | datetime | date

_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 26))  # tab, LF, FF, CR, DOS EOF are text
_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy .xls or password-protected workbook; save it as .xlsx or CSV"),
    (b"\xff\xfe", "UTF-16 text; export it as UTF-8 or Windows-1252"),
    (b"\xfe\xff", "UTF-16 text; export it as UTF-8 or Windows-1252"),
    (b"%PDF", "a PDF document, not a data file"),
    (b"\x1f\x8b", "a gzip-compressed file; unpack it first"),
)
XLSX_SUFFIXES = (".xlsx", ".xlsm")


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int
    max_rows: int
    max_line_chars: int = 64 * 1024
    max_columns: int = 1024
    xlsx_max_uncompressed: int = 1 << 30
    xlsx_max_ratio: int = 100  # uncompressed / compressed for one member; bombs run in the thousands
    xlsx_ratio_floor: int = 1 << 20  # members smaller than this are never a threat, whatever their ratio
    xlsx_max_members: int = 1000
    xlsx_max_shared_strings: int = 128 << 20  # openpyxl keeps the shared strings in memory

    @classmethod
    def from_settings(cls, **overrides: int) -> ImportLimits:
        base = {"max_bytes": settings.SHESHI_IMPORT_MAX_BYTES, "max_rows": settings.SHESHI_IMPORT_MAX_ROWS}
        return cls(**{**base, **overrides})


@dataclass(frozen=True)
class FileInfo:
    sha256: str
    size: int
    format: FileFormat
    encoding: str | None = None
    delimiter: str | None = None
    members: dict[str, int] = field(default_factory=dict)  # XLSX: declared uncompressed sizes


class SourceRow(NamedTuple):
    number: int
    cells: tuple[Cell, ...]


def inspect_file(stream: BinaryIO, *, limits: ImportLimits, filename: str = "", header_row: int = 1,
                 encoding: str | None = None, delimiter: str | None = None) -> FileInfo:
    """Pass 1: hash, size, format, encoding and delimiter. Raises ``ImportFileError``."""
    if not stream.seekable():
        raise ImportFileError("the upload must be a seekable file", code="import_stream_not_seekable")
    stream.seek(0)
    head = stream.read(CHUNK)
    if not head:
        raise ImportFileError("the file is empty", code="import_file_empty")
    suffix = PurePath(filename).suffix.lower()
    is_zip = head.startswith((b"PK\x03\x04", b"PK\x05\x06"))
    if suffix in XLSX_SUFFIXES and not is_zip:
        raise ImportFileError(f"the file is named {suffix} but is not an XLSX workbook (no zip signature)",
                              code="import_not_xlsx")
    if not is_zip:
        for magic, what in _SIGNATURES:
            if head.startswith(magic):
                raise ImportFileError(f"the file is {what}", code="import_unsupported_format")
        _refuse_binary(head)

    digest, size, newlines = hashlib.sha256(), 0, 0
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_error: int | None = None
    cp1252_ok, chunk = True, head
    while chunk:
        size += len(chunk)
        if size > limits.max_bytes:
            raise ImportFileError(f"the file is larger than the limit of {limits.max_bytes:,} bytes",
                                  code="import_file_too_large")
        digest.update(chunk)
        if not is_zip:
            nul = chunk.find(b"\x00")
            if nul >= 0:
                offset, row = size - len(chunk) + nul, newlines + chunk.count(b"\n", 0, nul) + 1
                raise ImportFileError(f"row {row} contains a NUL byte (byte offset {offset:,}): binary data, not "
                                      "text", code="import_binary_file", row=row)
            newlines += chunk.count(b"\n")
            if utf8_error is None:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError as exc:
                    utf8_error = size - len(chunk) + exc.start
            cp1252_ok = cp1252_ok and not any(b in chunk for b in _CP1252_UNDEFINED)
        chunk = stream.read(CHUNK)
    if not is_zip and utf8_error is None:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = size - 1

    if is_zip:
        members = _check_zip(stream, limits)
        return FileInfo(sha256=digest.hexdigest(), size=size, format=FileFormat.XLSX, members=members)
    chosen = _choose_encoding(head, utf8_error, cp1252_ok, encoding)
    stream.seek(0)
    sample = codecs.getincrementaldecoder(chosen)(errors="replace").decode(stream.read(SNIFF_BYTES))
    sep = delimiter or sniff_delimiter(sample, skip=header_row - 1, complete=size <= SNIFF_BYTES)
    return FileInfo(sha256=digest.hexdigest(), size=size, format=FileFormat.CSV, encoding=chosen, delimiter=sep)


def _refuse_binary(head: bytes) -> None:
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls > max(8, len(head) // 100):
        raise ImportFileError("the file is binary data, not CSV text or an XLSX workbook", code="import_binary_file")


def _choose_encoding(head: bytes, utf8_error: int | None, cp1252_ok: bool, wanted: str | None) -> str:
    bom = head.startswith(codecs.BOM_UTF8)
    wanted = (wanted or "").lower().replace("windows-1252", "cp1252")
    if wanted in ("utf-8", "utf-8-sig") or bom:
        if utf8_error is not None:
            raise ImportFileError(f"the file is not valid UTF-8 (first bad byte at offset {utf8_error})",
                                  code="import_encoding")
        return "utf-8-sig" if bom else "utf-8"
    if wanted != "cp1252" and utf8_error is None:
        return "utf-8"
    if cp1252_ok:
        return "cp1252"
    raise ImportFileError("the file is neither UTF-8 nor Windows-1252 text", code="import_encoding")


def sniff_delimiter(sample: str, *, skip: int = 0, complete: bool = True) -> str:
    """The delimiter that splits the header row and keeps the same count on most following lines."""
    lines = sample.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the sample may end mid-line
    lines = [ln for ln in lines[skip:] if ln.strip()][:50]
    best, best_score = ",", (0.0, 0)
    for sep in DELIMITERS:
        counts = [_count_outside_quotes(ln, sep) for ln in lines]
        if not counts or counts[0] == 0:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0])
        if score > best_score:
            best, best_score = sep, score
    return best


def _count_outside_quotes(line: str, sep: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            count += 1
    return count


def _check_zip(stream: BinaryIO, limits: ImportLimits) -> dict[str, int]:
    """Refuse a hostile or broken zip from its central directory, before inflating anything.

    Python's zipfile never inflates a member past the size its directory declares (it truncates
    and then fails the CRC), so checking the declared sizes bounds what openpyxl can inflate."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError("the file is not a readable XLSX workbook (its zip structure is damaged)",
                              code="import_not_xlsx") from exc
    if len(infos) > limits.xlsx_max_members:
        raise ImportFileError(f"the workbook has more than {limits.xlsx_max_members} parts", code="import_zip_bomb")
    members: dict[str, int] = {}
    for info in infos:
        if info.flag_bits & 0x1:
            raise ImportFileError("the workbook is encrypted", code="import_unsupported_format")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportFileError(f"part {info.filename} uses an unsupported compression", code="import_not_xlsx")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.xlsx_ratio_floor and ratio > limits.xlsx_max_ratio:
            raise ImportFileError(
                f"part {info.filename} inflates {ratio:,.0f} times ({info.file_size:,} bytes): refused as a zip bomb",
                code="import_zip_bomb")
        if info.filename == "xl/sharedStrings.xml" and info.file_size > limits.xlsx_max_shared_strings:
            raise ImportFileError(f"the workbook's shared strings exceed {limits.xlsx_max_shared_strings:,} bytes",
                                  code="import_zip_bomb")
        members[info.filename] = members.get(info.filename, 0) + info.file_size
    total = sum(members.values())
    if total > limits.xlsx_max_uncompressed:
        raise ImportFileError(f"the workbook inflates to {total:,} bytes, over the limit of "
                              f"{limits.xlsx_max_uncompressed:,}: refused as a zip bomb", code="import_zip_bomb")
    if "[Content_Types].xml" not in members or not any(n.startswith("xl/") for n in members):
        raise ImportFileError("the file is a zip archive but not an XLSX workbook", code="import_not_xlsx")
    return members


def iter_rows(stream: BinaryIO, info: FileInfo, *, limits: ImportLimits, sheet: str | None = None
              ) -> Iterator[SourceRow]:
    """Pass 2: the rows, one at a time. Raises ``ImportFileError`` where the file breaks."""
    stream.seek(0)
    if info.format == FileFormat.XLSX:
        yield from _xlsx_rows(stream, limits, sheet)
    else:
        yield from _csv_rows(stream, info, limits)


class _RecordBudget:
    """Characters read for the record being parsed: a quoted field spanning lines counts whole."""

    def __init__(self) -> None:
        self.chars = 0
        self.row = 1


def _lines(text: io.TextIOBase, limits: ImportLimits, budget: _RecordBudget) -> Iterator[str]:
    cap = limits.max_line_chars
    while True:
        line = text.readline(cap + 1)
        if not line:
            return
        budget.chars += len(line)
        if len(line.rstrip("\r\n")) > cap or budget.chars > cap + 2:
            raise ImportFileError(f"row {budget.row} is longer than {cap:,} characters",
                                  code="import_line_too_long", row=budget.row)
        yield line


def _csv_rows(stream: BinaryIO, info: FileInfo, limits: ImportLimits) -> Iterator[SourceRow]:
    text = io.TextIOWrapper(stream, encoding=info.encoding, newline="")  # type: ignore[arg-type]
    budget = _RecordBudget()
    reader = csv.reader(_lines(text, limits, budget), delimiter=info.delimiter or ",", strict=True)
    try:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(f"row {budget.row} is not well-formed CSV: {_csv_reason(exc)}",
                                      code="import_csv_malformed", row=budget.row) from exc
            _check_shape(budget.row, len(record), limits)
            yield SourceRow(budget.row, tuple(record))
            budget.row += 1
            budget.chars = 0
    finally:
        text.detach()  # leave the caller's stream open


def _csv_reason(exc: csv.Error) -> str:
    """The csv module's complaint in the words of someone who exported the file."""
    text = str(exc)
    if "expected after" in text:
        return "a quote inside a quoted value is not doubled (\"\")"
    if "unexpected end of data" in text or "EOF" in text:
        return "a quoted value is not closed before the end of the file"
    if "new-line" in text or "newline" in text:
        return "a line break inside a value that is not quoted"
    return "the quoting or delimiters do not match the rest of the file"


def _check_shape(row: int, width: int, limits: ImportLimits) -> None:
    if row > limits.max_rows:
        raise ImportFileError(f"the file has more than {limits.max_rows:,} rows", code="import_too_many_rows", row=row)
    if width > limits.max_columns:
        raise ImportFileError(f"row {row} has {width:,} columns, over the limit of {limits.max_columns:,}",
                              code="import_too_many_columns", row=row)


def _xlsx_rows(stream: BinaryIO, limits: ImportLimits, sheet: str | None) -> Iterator[SourceRow]:
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    try:
        wb = load_workbook(stream, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises anything on a malformed workbook
        raise ImportFileError(f"the workbook cannot be read: {_xlsx_reason(exc)}", code="import_not_xlsx") from exc
    try:
        names = wb.sheetnames
        if not names:
            raise ImportFileError("the workbook has no sheets", code="import_sheet_missing")
        name = sheet or names[0]
        if name not in names:
            raise ImportFileError(f"sheet '{name}' not found; the workbook has: {', '.join(names)}",
                                  code="import_sheet_missing", value=name)
        ws = wb[name]
        if not isinstance(ws, ReadOnlyWorksheet):
            raise ImportFileError(f"sheet '{name}' is a chart, not a worksheet", code="import_sheet_missing")
        ws.reset_dimensions()  # a lying <dimension> would otherwise pad every row to its width
        rows = ws.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # malformed sheet XML surfaces as any exception
                raise ImportFileError(f"row {number + 1} of sheet '{name}' cannot be read: {_xlsx_reason(exc)}",
                                      code="import_not_xlsx", row=number + 1) from exc
            number += 1
            _check_shape(number, len(values), limits)
            yield SourceRow(number, tuple(_xlsx_cell(v, number) for v in values))
    finally:
        wb.close()


def _xlsx_reason(exc: BaseException) -> str:
    """Why a workbook part could not be read, in our words: a library's message may carry the
    server's storage path or its internals, and says nothing useful to the person who sent the file."""
    for cause in (exc, exc.__cause__, exc.__context__):
        if isinstance(cause, zipfile.BadZipFile | zlib.error | EOFError):
            return "a part of the workbook is damaged (its compressed data does not check out)"
        if isinstance(cause, KeyError):
            return "a part the workbook refers to is missing"
        if cause is not None and cause.__class__.__name__ in ("ParseError", "XMLSyntaxError", "ExpatError"):
            return "a part of the workbook is not well-formed XML"
    return "it is damaged or not a standard XLSX workbook; open it and save it again as .xlsx, or export CSV"


def _xlsx_cell(value: object, row: int) -> Cell:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        try:
            return decimal_from_excel(value)
        except AmountError:
            return str(value)
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, time | timedelta):
        return str(value)
    text = getattr(value, "text", None)  # ArrayFormula and friends keep their formula text
    return text if isinstance(text, str) else str(value)
