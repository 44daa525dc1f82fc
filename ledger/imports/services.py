"""Import writes: store a file (content-addressed), validate it whole, post it through the
ledger's bulk path in one transaction, supersede an earlier batch by reversal.

The order is the point: nothing is written to the ledger unless the whole file validated, and
the posting is one transaction (all lines or none). A batch that fails keeps its errors and its
stored file, so the refusal itself is traceable.
"""
from __future__ import annotations

import hashlib
import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from audit.services.events import audit_event_record
from ledger.imports.errors import DuplicateRowsError, ImportErrorCode, ImportFileError, SourceFileMissingError
from ledger.imports.locks import import_batches_for_update
from ledger.imports.mapping import ColumnMapping, ImportKind
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.imports.reading import ImportLimits, inspect_file, iter_rows
from ledger.imports.validation import (
    AccountMatch,
    ImportContext,
    ImportRecord,
    Refusal,
    ValidationReport,
    hashed_rows,
    validate_rows,
)
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, AccountKind, EntrySource, JournalEntry, LocalAccountMapping
from ledger.services.bulk import journal_entries_post_bulk
from ledger.services.entries import journal_entry_reverse_posted
from periods.models import EntityPeriod, Period, PeriodState
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE
from sheshi.errors import (
    ConcurrentUpdate,
    Conflict,
    FieldError,
    PermissionDenied,
    SheshiError,
    ValidationFailed,
    from_db_error,
)
from sheshi.jobs.timeouts import job_stale_after
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entities_for, is_org_admin

PROGRESS_EVERY = 10_000
# Uploads up to this size run inside the request; larger ones run as a django-q2 job.
INLINE_MAX_BYTES_DEFAULT = 2 * 1024 * 1024
Progress = Callable[[int], None]


class DuplicateImportError(Conflict):
    error = ImportErrorCode.DUPLICATE_FILE


class ImportNotSupersedableError(Conflict):
    error = ImportErrorCode.NOT_SUPERSEDABLE


class SourceSystemExistsError(Conflict):
    error = ImportErrorCode.SOURCE_SYSTEM_EXISTS


def import_batch_enqueue(batch: ImportBatch) -> None:
    """Queue the run after the batch row is committed (never before: the worker could not see it)."""
    transaction.on_commit(lambda: async_task("ledger.imports.tasks.import_batch_run_task", batch.pk,
                                             task_name=f"import-{batch.pk}"))


def storage_name(sha256: str) -> str:
    """Where a file lives: by content, so the same bytes are stored once and can be verified."""
    return f"imports/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def source_file_open(batch: ImportBatch) -> BinaryIO:
    """The batch's stored original, or SourceFileMissingError (410) when the store lost it."""
    try:
        return default_storage.open(batch.file_path, "rb")
    except FileNotFoundError:
        raise SourceFileMissingError(batch.file_path, batch_id=batch.pk) from None


def _store(stream: BinaryIO, sha256: str) -> str:
    name = storage_name(sha256)
    if not default_storage.exists(name):
        stream.seek(0)
        name = default_storage.save(name, File(stream))
    return name


def _require(actor, entity: Entity) -> None:
    require_entity_perm(actor, PREPARE, entity)


def import_batch_create(*, actor, entity: Entity, period: Period, stream: BinaryIO, filename: str,
                        mapping: ColumnMapping, source_system: SourceSystem | None = None,
                        supersedes: ImportBatch | None = None, limits: ImportLimits | None = None,
                        duplicate_rows_reason: str = "") -> ImportBatch:
    """Hash and store the file and record a pending batch; refuse the same file twice (409).

    ``duplicate_rows_reason``: why rows equal to an active batch's may be imported again (a file
    with the same rows is otherwise refused when the batch runs)."""
    _require(actor, entity)
    duplicate_rows_reason = _reason(duplicate_rows_reason)
    problems = mapping.problems()
    if problems:
        raise ValidationFailed("The column mapping is not usable.",
                               errors=[FieldError("mapping", p, code="mapping_invalid") for p in problems])
    if period.organisation_id != entity.organisation_id:
        raise ValidationFailed("The period belongs to another organisation.", errors=[FieldError("period", "unknown")])
    if supersedes is not None and (supersedes.entity_id != entity.pk or supersedes.status != ImportStatus.POSTED):
        raise ImportNotSupersedableError(f"Import {supersedes.pk} is {supersedes.status}, or of another entity.")
    limits = limits or ImportLimits.from_settings()
    info = inspect_file(stream, limits=limits, filename=filename, header_row=mapping.header_row,
                        encoding=mapping.encoding, delimiter=mapping.delimiter)
    if info.delimiter and not mapping.delimiter:
        mapping = replace(mapping, delimiter=info.delimiter)  # record what was sniffed
    existing = _active_duplicate(entity, info.sha256)
    if existing is not None:
        raise DuplicateImportError(f"This file was already imported as batch {existing} (same SHA-256).",
                                   batch_id=existing, sha256=info.sha256)
    path = _store(stream, info.sha256)
    try:
        with transaction.atomic():
            return ImportBatch.objects.create(
                organisation_id=entity.organisation_id, entity=entity, period=period, source_system=source_system,
                kind=str(mapping.kind), mapping=mapping.as_dict(), file_name=filename[:255], file_path=path,
                sha256=info.sha256, size=info.size, supersedes=supersedes, duplicate_rows_reason=duplicate_rows_reason,
                created_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError as exc:  # a concurrent upload of the same file won the unique constraint
        raise DuplicateImportError("This file was already imported (same SHA-256).", sha256=info.sha256) from exc


def _reason(text: str | None) -> str:
    reason = " ".join((text or "").split())
    if len(reason) > 500:
        raise ValidationFailed("The reason is too long.", errors=[FieldError(
            "duplicate_rows_reason", "At most 500 characters.", code="max_length")])
    return reason


def _same_rows(batch: ImportBatch, rows_sha256: str) -> ImportBatch | None:
    """An active batch of the entity with the same rows (the batch this one supersedes excepted)."""
    return (ImportBatch.objects.filter(entity_id=batch.entity_id, rows_sha256=rows_sha256,
                                       status__in=[ImportStatus.PENDING, ImportStatus.RUNNING, ImportStatus.POSTED])
            .exclude(pk=batch.pk).exclude(pk=batch.supersedes_id or 0).order_by("pk").first())


def _active_duplicate(entity: Entity, sha256: str) -> int | None:
    return (ImportBatch.objects.filter(entity=entity, sha256=sha256, status__in=[
        ImportStatus.PENDING, ImportStatus.RUNNING, ImportStatus.POSTED]).values_list("pk", flat=True).first())


def import_context(batch: ImportBatch, *, max_errors: int = 1000) -> ImportContext:
    """The lookups validation needs, from the ledger: local → group accounts (effective on the
    period's last day, group codes accepted directly), partner entities, the period's state."""
    period, entity = batch.period, batch.entity
    on = period.end_date
    postable = dict(Account.objects.filter(organisation_id=entity.organisation_id)
                    .values_list("id", "kind"))
    by_group_code = dict(Account.objects.filter(organisation_id=entity.organisation_id, is_active=True)
                         .values_list("code", "id"))
    mapped: dict[str, int] = {}
    known_local: set[str] = set()
    for code, account_id, valid in LocalAccountMapping.objects.filter(entity=entity).values_list(
            "local_code", "account_id", "valid"):
        known_local.add(code)
        if (valid.lower is None or valid.lower <= on) and (valid.upper is None or on < valid.upper):
            mapped[code] = account_id

    def account_lookup(code: str) -> AccountMatch | Refusal | None:
        account_id = mapped.get(code)
        if account_id is None and code in known_local:
            return Refusal(f"not mapped to the group chart on {on.isoformat()}")
        if account_id is None:
            account_id = by_group_code.get(code)
        if account_id is None:
            return None
        if postable.get(account_id) != AccountKind.POSTING:
            return Refusal("a group account: only posting accounts take lines", "account_not_posting")
        return AccountMatch(account=account_id)

    entities = dict(Entity.objects.filter(organisation_id=entity.organisation_id).values_list("code", "id"))
    state = (EntityPeriod.objects.filter(entity=entity, period=period).values_list("state", flat=True).first())
    return ImportContext(
        functional_currency=entity.functional_currency, period_start=period.start_date, period_end=period.end_date,
        account_lookup=account_lookup, entity_lookup=entities.get, period_open=state == PeriodState.OPEN,
        period_label=f"{entity.code} {period.code} ({state or 'no state'})", max_errors=max_errors)


def _records(batch: ImportBatch, stream: BinaryIO, mapping: ColumnMapping, context: ImportContext,
             report: ValidationReport, limits: ImportLimits, rows_digest=None) -> Iterator[ImportRecord]:
    info = inspect_file(stream, limits=limits, filename=batch.file_name, header_row=mapping.header_row,
                        encoding=mapping.encoding, delimiter=mapping.delimiter)
    if info.sha256 != batch.sha256:
        raise ImportFileError("the stored file no longer matches its SHA-256", code="import_file_changed")
    rows = iter_rows(stream, info, limits=limits, sheet=mapping.sheet)
    if rows_digest is not None:
        rows = hashed_rows(rows, rows_digest, header_row=mapping.header_row)
    yield from validate_rows(rows, mapping, context, report)


class EntryRows:
    """Which source rows each posted entry came from, so that a refusal of ``entries[i]`` by the
    ledger names rows of the file. Entries are contiguous runs of rows: only each entry's first row
    is kept (8 bytes an entry), the last is the row before the next entry's first."""

    _ENTRY = re.compile(r"^entries\[(\d+)\](?:\.(.*))?$")

    def __init__(self) -> None:
        self.first_rows = array("q")
        self.last_row = 0

    def rows(self, index: int) -> tuple[int, int] | None:
        if not 0 <= index < len(self.first_rows):
            return None
        last = self.first_rows[index + 1] - 1 if index + 1 < len(self.first_rows) else self.last_row
        return self.first_rows[index], last

    def to_rows(self, exc: SheshiError, mapping: ColumnMapping) -> SheshiError | None:
        """The ledger's errors on ``entries[i]…`` as errors on the file's rows and columns; None
        when the refusal names no entry (e.g. the period was locked meanwhile)."""
        errors, named = [], False
        for err in exc.errors:
            match = self._ENTRY.match(err.field)
            span = self.rows(int(match.group(1))) if match else None
            if span is None:
                errors.append(err)
                continue
            named = True
            rest = match.group(2) or ""
            where = f"rows {span[0]}–{span[1]}" if span[0] != span[1] else f"row {span[0]}"
            line_level = rest.startswith("lines[") and "." in rest
            column = _column_for(rest.rsplit(".", 1)[-1], mapping) if line_level else (
                mapping.reference or mapping.date or "file")
            message = err.message if line_level else f"{err.message} (the entry from {where})"
            errors.append(FieldError(field=column, message=message, code=err.code,
                                     row=err.row if err.row is not None else span[0], value=err.value))
        return ValidationFailed(exc.detail, errors=errors) if named else None


def _column_for(name: str, mapping: ColumnMapping) -> str:
    if name == "amount":
        return mapping.amount or f"{mapping.debit}/{mapping.credit}"
    return getattr(mapping, name, None) or name if name in mapping.columns() else name


def _entries(batch: ImportBatch, records: Iterator[ImportRecord], mapping: ColumnMapping,
             progress: Progress | None, spans: EntryRows | None = None) -> Iterator[EntryInput]:
    """Records → entries: one per source document (contiguous rows sharing a reference) when a
    reference is mapped, else the whole file as one entry on the period's last day."""
    label = f"Import {batch.pk}: {batch.file_name}"
    by_document = mapping.kind == ImportKind.GL_DETAIL and bool(mapping.reference)
    spans = spans or EntryRows()
    lines: list[LineInput] = []
    current: tuple[str, object] | None = None
    count = 0
    for rec in records:
        key = (rec.reference, rec.date)
        if by_document and current is not None and key != current and lines:
            yield EntryInput(entry_date=current[1] or batch.period.end_date, lines=lines,
                             description=f"{label} {current[0]}"[:500], period_id=batch.period_id)
            lines = []
        if not lines:
            spans.first_rows.append(rec.row)
        spans.last_row = rec.row
        current = key
        lines.append(LineInput(
            account_id=rec.account, amount=rec.amount, currency=rec.currency,
            functional_amount=rec.functional_amount, counterparty_id=rec.counterparty,
            dimensions=rec.dimensions, memo=rec.description[:500], source_row=rec.row,
            source_raw=json.dumps(rec.raw, ensure_ascii=False)))
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
    if lines:
        date = (current[1] if by_document and current else None) or batch.period.end_date
        ref = f" {current[0]}" if by_document and current else ""
        yield EntryInput(entry_date=date, lines=lines, description=f"{label}{ref}"[:500], period_id=batch.period_id)
    if progress:
        progress(count)


def _finish(batch_id: int, attempt, **fields) -> ImportBatch:
    """Record the end of the attempt that started at ``attempt``, if it still owns the batch."""
    batch = import_batches_for_update().get(pk=batch_id)
    if batch.status != ImportStatus.RUNNING or batch.started_at != attempt:
        raise ImportAttemptLostError(f"Import {batch_id} is {batch.status} (started {batch.started_at}); the "
                                     f"attempt started {attempt} was restarted and stops here.")
    for k, v in fields.items():
        setattr(batch, k, v)
    batch.finished_at = timezone.now()
    batch.save(update_fields=[*fields, "finished_at"])
    return batch


def _save_report(batch_id: int, report: ValidationReport, status: str, attempt) -> ImportBatch:
    with transaction.atomic():
        return _finish(batch_id, attempt, status=status, row_count=report.rows, debit_total=report.debit_total,
                       credit_total=report.credit_total, error_count=report.error_count,
                       errors=[e.as_dict() for e in report.errors])


class ImportAttemptLostError(RuntimeError):
    """This run of a batch was declared lost and restarted by a later delivery of its job: it
    must write nothing (its transaction rolls back; the later attempt owns the batch)."""


def import_batch_run(*, actor, batch_id: int, progress: Progress | None = None,
                     limits: ImportLimits | None = None) -> ImportBatch:
    """Validate the whole file, then post it in one transaction. Safe to run twice (a job may be
    delivered more than once): a finished batch, or one running under a live worker, is returned
    as it is; a batch still running after the job timeout lost its worker (killed mid-run: its
    posting rolled back) and is run again, and the lost attempt, should it still be alive, can no
    longer finish it (each attempt is known by its ``started_at``)."""
    with transaction.atomic():
        batch = import_batches_for_update().select_related("entity", "period").get(pk=batch_id)
        lost = batch.status == ImportStatus.RUNNING and batch.started_at < timezone.now() - job_stale_after()
        if batch.status != ImportStatus.PENDING and not lost:
            return batch
        _require(actor, batch.entity)
        batch.status, batch.started_at = ImportStatus.RUNNING, timezone.now()
        batch.save(update_fields=["status", "started_at"])
    attempt = batch.started_at
    limits = limits or ImportLimits.from_settings()
    mapping = ColumnMapping.from_dict(batch.mapping)
    context = import_context(batch)

    # Pass 1: validate everything, write nothing.
    report = ValidationReport(max_errors=context.max_errors)
    rows_digest = hashlib.sha256()
    try:
        with default_storage.open(batch.file_path, "rb") as stream:
            for _ in _records(batch, stream, mapping, context, report, limits, rows_digest):
                if progress and report.rows % PROGRESS_EVERY == 0:
                    progress(report.rows)
    except ImportFileError as exc:
        report.add(exc.row, "file", None, exc.detail, exc.code)
    except FileNotFoundError:  # the object was deleted behind the app: a refusal naming it, not a retry loop
        missing = SourceFileMissingError(batch.file_path, batch_id=batch.pk)
        report.add(None, "file", batch.file_path, missing.detail, missing.code)
        return _save_report(batch.pk, report, ImportStatus.FAILED, attempt)
    rows_sha256 = rows_digest.hexdigest()
    if report.ok and not batch.duplicate_rows_reason and (same := _same_rows(batch, rows_sha256)) is not None:
        report.add(None, "file", None, f"same rows as batch {same.pk} ({same.file_name}), imported on "
                   f"{timezone.localdate(same.created_at).isoformat()}; only the bytes differ (line endings, "
                   "encoding, delimiter or quoting). To import them again, give the reason.", DuplicateRowsError.code)
    if not report.ok:
        return _save_report(batch.pk, report, ImportStatus.REJECTED, attempt)

    # Pass 2: post, all or nothing, with lineage on every line.
    posting = ValidationReport(max_errors=context.max_errors)
    spans = EntryRows()
    try:
        with transaction.atomic(), default_storage.open(batch.file_path, "rb") as stream:
            if batch.supersedes_id:
                _reverse_batch(actor, batch.supersedes_id, batch.pk)
            records = _records(batch, stream, mapping, context, posting, limits)
            result = journal_entries_post_bulk(actor=actor, entity=batch.entity, source=EntrySource.IMPORT,
                                               import_batch_id=batch.pk,
                                               entries=_entries(batch, records, mapping, progress, spans))
            if not posting.ok:  # the file cannot change under its hash; this guards the invariant anyway
                raise ValidationFailed("The file changed between validation and posting.")
            # rows_sha256 under the unique rule: a concurrent batch with the same rows cannot post too.
            return _finish(batch.pk, attempt, status=ImportStatus.POSTED, rows_sha256=rows_sha256,
                           row_count=report.rows, rows_done=report.rows,
                           entry_count=result.entries, line_count=result.lines, debit_total=report.debit_total,
                           credit_total=report.credit_total, error_count=0, errors=[])
    except SheshiError as exc:
        by_rows = spans.to_rows(exc, mapping)
        if by_rows is not None:  # a problem of the file the validation missed: a rejection naming its rows
            return _save_refusal(batch.pk, report, by_rows, attempt, status=ImportStatus.REJECTED)
        return _save_refusal(batch.pk, report, exc, attempt)
    except DatabaseError as exc:  # a database rule refused the posting (e.g. the period locked meanwhile)
        mapped = from_db_error(exc)
        if mapped is None or isinstance(mapped, ConcurrentUpdate):
            raise  # not a refusal: the job fails and the batch is run again (sheshi/jobs/recovery.py)
        return _save_refusal(batch.pk, report, mapped, attempt)


def _save_refusal(batch_id: int, report: ValidationReport, exc: SheshiError, attempt,
                  status: str = ImportStatus.FAILED) -> ImportBatch:
    """The ledger refused a file that validated: keep why, with the validated totals."""
    failed = ValidationReport(max_errors=report.max_errors)
    for err in exc.errors or [FieldError("ledger", exc.detail, code=exc.code)]:
        failed.add(err.row, err.field, err.value, err.message, err.code)
    failed.rows, failed.debit_total, failed.credit_total = report.rows, report.debit_total, report.credit_total
    return _save_report(batch_id, failed, status, attempt)


def _reverse_batch(actor, old_batch_id: int, new_batch_id: int) -> None:
    """Supersede: reverse every entry the earlier batch posted (never delete), mark it superseded."""
    old = import_batches_for_update().get(pk=old_batch_id)
    if old.status != ImportStatus.POSTED:
        raise ImportNotSupersedableError(f"Import {old.pk} is {old.status}; only a posted import can be superseded.")
    for entry_id, entry_date, period_id in (JournalEntry.objects.filter(import_batch_id=old.pk,
                                                                        source=EntrySource.IMPORT)
                                            .order_by("pk").values_list("pk", "entry_date", "period_id")):
        journal_entry_reverse_posted(actor=actor, entry_id=entry_id, entry_date=entry_date, period_id=period_id,
                                     description=f"Superseded by import {new_batch_id}: reversal of entry {entry_id}")
    old.status = ImportStatus.SUPERSEDED
    old.save(update_fields=["status"])


def import_batch_reap(*, older_than: timedelta = timedelta(hours=2)) -> int:
    """Return batches stuck in RUNNING (a worker killed mid-run) to PENDING so a job retries them."""
    cutoff = timezone.now() - older_than
    n = 0
    for batch in ImportBatch.objects.filter(status=ImportStatus.RUNNING, started_at__lt=cutoff):
        batch.status = ImportStatus.PENDING
        batch.save(update_fields=["status"])
        n += 1
    return n


def inline_max_bytes() -> int:
    return getattr(settings, "SHESHI_IMPORT_INLINE_MAX_BYTES", INLINE_MAX_BYTES_DEFAULT)


@dataclass(frozen=True)
class UploadResult:
    batch: ImportBatch
    queued: bool  # True: a job runs it after commit; False: it ran here and is final


def import_batch_upload(*, actor, entity: Entity, period: Period, stream: BinaryIO, filename: str,
                        mapping: ColumnMapping, source_system: SourceSystem | None = None,
                        supersedes: ImportBatch | None = None, duplicate_rows_reason: str = "") -> UploadResult:
    """What the API and the admin do with an upload: store it and record the batch with an audit
    event (one transaction), then run it here when it is small, else queue the job on commit."""
    with transaction.atomic():
        batch = import_batch_create(actor=actor, entity=entity, period=period, stream=stream, filename=filename,
                                    mapping=mapping, source_system=source_system, supersedes=supersedes,
                                    duplicate_rows_reason=duplicate_rows_reason)
        audit_event_record(organisation_id=entity.organisation_id, action="import_batch.uploaded",
                           object_type="ledger.importbatch", object_id=batch.pk, changes={
                               "entity": entity.code, "period": period.code, "file_name": batch.file_name,
                               "sha256": batch.sha256, "size": batch.size, "kind": batch.kind,
                               "source_system": source_system.code if source_system else None,
                               "supersedes": supersedes.pk if supersedes else None,
                               "duplicate_rows_reason": batch.duplicate_rows_reason or None})
        if batch.size > inline_max_bytes():
            import_batch_enqueue(batch)
            return UploadResult(batch=batch, queued=True)
    return UploadResult(batch=import_batch_run(actor=actor, batch_id=batch.pk), queued=False)


def _may_manage_sources(actor, organisation_id: int) -> bool:
    if actor is None:
        return True
    return is_org_admin(actor, organisation_id) or entities_for(actor, PREPARE).filter(
        organisation_id=organisation_id).exists()


def source_system_create(*, actor, organisation_id: int, code: str, name: str, mapping: ColumnMapping
                         ) -> SourceSystem:
    """Save a column mapping under a code for the organisation (organisation admins and preparers)."""
    if not _may_manage_sources(actor, organisation_id):
        raise PermissionDenied("Saving a source system needs 'prepare_entries' on one of the organisation's entities.")
    problems = mapping.problems()
    if problems:
        raise ValidationFailed("The column mapping is not usable.",
                               errors=[FieldError("mapping", p, code="mapping_invalid") for p in problems])
    try:
        with transaction.atomic():
            return SourceSystem.objects.create(organisation_id=organisation_id, code=code, name=name,
                                               kind=str(mapping.kind), mapping=mapping.as_dict())
    except IntegrityError as exc:
        raise SourceSystemExistsError(f"Source system {code} ({mapping.kind}) already exists.") from exc
