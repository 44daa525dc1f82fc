"""Refusals of an import file. Each carries a stable code; row-level problems travel as
``FieldError`` (row, column, value, reason) exactly as the API renders them."""
from __future__ import annotations

from sheshi.errors import Conflict, DbRule, FieldError, SheshiError, register_db_rules


class ImportFileError(SheshiError):
    """The file cannot be read at all (size, encoding, structure, hostile content)."""

    code, title, status = "import_file_invalid", "The file cannot be imported.", 422

    def __init__(self, detail: str, *, code: str, row: int | None = None, status: int | None = None,
                 value: object = None):
        errors = [FieldError(field="file", message=detail, code=code, row=row, value=value)]
        super().__init__(detail, errors=errors, code=code, status=status)
        self.row = row


class ImportValidationError(SheshiError):
    """The file was read but some rows are wrong; ``errors`` lists every problem found."""

    code, title, status = "import_rows_invalid", "The file has problems; nothing was imported.", 422


class ImportPostingFailedError(SheshiError):
    """The file validated but the ledger refused the posting (e.g. the period was locked meanwhile)."""

    code, title, status = "import_posting_failed", "The ledger refused the file; nothing was posted.", 422


class SourceFileMissingError(SheshiError):
    """The batch's stored source file is gone from the file store (deleted or lost behind the app)."""

    code, title, status = "source_file_missing", "The stored source file is missing.", 410

    def __init__(self, path: str, *, batch_id: int | None = None):
        where = f"batch {batch_id}'s " if batch_id is not None else ""
        super().__init__(f"The stored source file of {where}import ({path}) is missing from the file store; it was "
                         "deleted or lost outside Sheshi. Nothing was posted from it. Upload the file again as a new "
                         "batch, or ask the operators to restore the object (a versioned bucket keeps it).",
                         errors=[FieldError(field="file", message="missing from the file store", code=self.code,
                                            value=path)])


class DuplicateRowsError(Conflict):
    """The file's rows equal those of an active batch of the entity (its bytes may differ)."""

    code, title = "import_duplicate_rows", "These rows have already been imported for this entity."


register_db_rules({
    "import_same_rows_once": DbRule(DuplicateRowsError.code, DuplicateRowsError.title, 409),
})
