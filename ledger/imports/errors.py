"""Refusals of an import file: the import error codes (one enum) and their exceptions. Row-level
problems travel as ``FieldError`` (row, column, value, reason) exactly as the API renders them."""
from __future__ import annotations

import enum

from sheshi.errors import Conflict, ErrorCode, FieldError, SheshiError, register_db_rules


@enum.unique
class ImportErrorCode(ErrorCode):
    FILE_INVALID = ("import_file_invalid", 422, "The file cannot be imported.")
    ROWS_INVALID = ("import_rows_invalid", 422, "The file has problems; nothing was imported.")
    POSTING_FAILED = ("import_posting_failed", 422, "The ledger refused the file; nothing was posted.")
    SOURCE_FILE_MISSING = ("source_file_missing", 410, "The stored source file is missing.")
    DUPLICATE_FILE = ("import_duplicate", 409, "This file has already been imported for this entity.")
    NOT_SUPERSEDABLE = ("import_not_supersedable", 409, "Only a posted import can be superseded.")
    SOURCE_SYSTEM_EXISTS = ("source_system_exists", 409, "A source system with this code and kind already exists.")
    DUPLICATE_ROWS = ("import_duplicate_rows", 409, "These rows have already been imported for this entity.")
    # What exactly is wrong with an unreadable file (ImportFileError's code):
    FILE_TOO_LARGE = ("import_file_too_large", 413, "The file is larger than the import limit.")
    FILE_EMPTY = ("import_file_empty", 422, "The file is empty.")
    FILE_CHANGED = ("import_file_changed", 422, "The stored file no longer matches its SHA-256.")
    STREAM_NOT_SEEKABLE = ("import_stream_not_seekable", 422, "The upload must be a seekable file.")
    UNSUPPORTED_FORMAT = ("import_unsupported_format", 422, "The file's format is not supported.")
    BINARY_FILE = ("import_binary_file", 422, "The file is binary data, not CSV text or an XLSX workbook.")
    ENCODING = ("import_encoding", 422, "The file is neither UTF-8 nor Windows-1252 text.")
    NOT_XLSX = ("import_not_xlsx", 422, "The file is not a readable XLSX workbook.")
    ZIP_BOMB = ("import_zip_bomb", 422, "The workbook inflates beyond the import limits.")
    SHEET_MISSING = ("import_sheet_missing", 422, "The workbook has no worksheet to read.")
    TOO_MANY_ROWS = ("import_too_many_rows", 422, "The file has more rows than the import limit.")
    TOO_MANY_COLUMNS = ("import_too_many_columns", 422, "A row has more values than the header has columns.")
    LINE_TOO_LONG = ("import_line_too_long", 422, "A row is longer than the import limit.")
    CSV_MALFORMED = ("import_csv_malformed", 422, "The CSV text is malformed.")


class ImportFileError(SheshiError):
    """The file cannot be read at all (size, encoding, structure, hostile content)."""

    error = ImportErrorCode.FILE_INVALID

    def __init__(self, detail: str, *, code: str | ImportErrorCode, row: int | None = None, value: object = None):
        member = ImportErrorCode(code)  # a declared import code, or ValueError
        errors = [FieldError(field="file", message=detail, code=member.code, row=row, value=value)]
        super().__init__(detail, errors=errors, code=member)
        self.row = row


class ImportValidationError(SheshiError):
    """The file was read but some rows are wrong; ``errors`` lists every problem found."""

    error = ImportErrorCode.ROWS_INVALID


class ImportPostingFailedError(SheshiError):
    """The file validated but the ledger refused the posting (e.g. the period was locked meanwhile)."""

    error = ImportErrorCode.POSTING_FAILED


class SourceFileMissingError(SheshiError):
    """The batch's stored source file is gone from the file store (deleted or lost behind the app)."""

    error = ImportErrorCode.SOURCE_FILE_MISSING

    def __init__(self, path: str, *, batch_id: int | None = None):
        where = f"batch {batch_id}'s " if batch_id is not None else ""
        super().__init__(f"The stored source file of {where}import ({path}) is missing from the file store; it was "
                         "deleted or lost outside Sheshi. Nothing was posted from it. Upload the file again as a new "
                         "batch, or ask the operators to restore the object (a versioned bucket keeps it).",
                         errors=[FieldError(field="file", message="missing from the file store", code=self.code,
                                            value=path)])


class DuplicateRowsError(Conflict):
    """The file's rows equal those of an active batch of the entity (its bytes may differ)."""

    error = ImportErrorCode.DUPLICATE_ROWS


register_db_rules({
    "import_same_rows_once": ImportErrorCode.DUPLICATE_ROWS,
})
