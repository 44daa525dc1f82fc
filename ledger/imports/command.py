"""``manage.py import_file``: import a CSV/XLSX for an entity and period, with a progress bar.

    manage.py import_file FILE --entity ACME-DE --period 2026-01 --source-system SAP
    manage.py import_file FILE --entity ACME-DE --period 2026-01 --mapping mapping.json [--save-as SAP]
    manage.py import_file FILE ... --supersedes 42      # a corrected file: reverse batch 42, post this one
    manage.py import_file FILE ... --duplicate-rows-reason "why"   # the same rows as an imported batch, on purpose

Runs in the system scope (every organisation) as ``--user`` if given (their rights apply), else
as the system actor. Exit status 0 when posted, 1 when rejected or refused; the problems are
printed with row, column, value and reason.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ledger.imports.errors import ImportFileError
from ledger.imports.mapping import ColumnMapping
from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem
from ledger.imports.services import import_batch_create, import_batch_run, source_system_create
from periods.models import Period
from sheshi.db.context import system_context
from sheshi.errors import SheshiError
from sheshi.tenancy.models import Entity


class Command(BaseCommand):
    help = "Import a trial balance or GL-detail file (CSV or XLSX) for one entity and period."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--entity", required=True, help="entity code")
        parser.add_argument("--period", required=True, help="period code, e.g. 2026-01")
        parser.add_argument("--source-system", help="saved source system code (its mapping is used)")
        parser.add_argument("--mapping", help="JSON file with a column mapping")
        parser.add_argument("--save-as", help="save --mapping as this source system code")
        parser.add_argument("--supersedes", type=int, help="id of a posted batch this file corrects")
        parser.add_argument("--duplicate-rows-reason", default="",
                            help="import rows equal to an active batch's anyway, and record why")
        parser.add_argument("--user", help="username to act as (default: the system)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        with system_context("import_file"):
            entity = Entity.objects.filter(code=opts["entity"]).first()
            if entity is None:
                raise CommandError(f"unknown entity {opts['entity']}")
            period = Period.objects.filter(organisation_id=entity.organisation_id, code=opts["period"]).first()
            if period is None:
                raise CommandError(f"unknown period {opts['period']}")
            actor = get_user_model().objects.get(username=opts["user"]) if opts["user"] else None
            mapping, source = self._mapping(entity, opts, actor)
            supersedes = ImportBatch.objects.get(pk=opts["supersedes"]) if opts["supersedes"] else None
            started = time.perf_counter()
            try:
                with path.open("rb") as fh:
                    batch = import_batch_create(actor=actor, entity=entity, period=period, stream=fh,
                                                filename=path.name, mapping=mapping, source_system=source,
                                                supersedes=supersedes,
                                                duplicate_rows_reason=opts["duplicate_rows_reason"])
                batch = self._run(actor, batch, path, quiet=opts["no_progress"])
            except (ImportFileError, SheshiError) as exc:
                self._problems(exc.detail, [e.as_dict() for e in exc.errors])
                raise SystemExit(1) from exc
        seconds = time.perf_counter() - started
        if batch.status != ImportStatus.POSTED:
            self._problems(f"batch {batch.pk} {batch.status}: {batch.error_count} problem(s); nothing was posted",
                           batch.errors)
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(
            f"batch {batch.pk} posted: {batch.row_count:,} rows, {batch.entry_count:,} entries, "
            f"{batch.line_count:,} lines, debits {batch.debit_total} = credits {batch.credit_total} "
            f"{entity.functional_currency}, in {seconds:.1f} s ({batch.row_count / max(seconds, 1e-9):,.0f} rows/s); "
            f"sha256 {batch.sha256}"))

    def _mapping(self, entity: Entity, opts, actor) -> tuple[ColumnMapping, SourceSystem | None]:
        if opts["mapping"]:
            mapping = ColumnMapping.from_dict(json.loads(Path(opts["mapping"]).read_text()))
            if not opts["save_as"]:
                return mapping, None
            # Through the service, as the API and the admin: the same permission and mapping checks, and
            # a saved source system is never overwritten (its batches keep pointing at it).
            try:
                source = source_system_create(actor=actor, organisation_id=entity.organisation_id,
                                              code=opts["save_as"], name=opts["save_as"], mapping=mapping)
            except SheshiError as exc:
                raise CommandError(" ".join([exc.detail, *(e.message for e in exc.errors)])) from exc
            return mapping, source
        if opts["source_system"]:
            source = SourceSystem.objects.filter(organisation_id=entity.organisation_id,
                                                 code=opts["source_system"]).first()
            if source is None:
                raise CommandError(f"unknown source system {opts['source_system']}")
            return ColumnMapping.from_dict(source.mapping), source
        raise CommandError("give --source-system or --mapping")

    def _run(self, actor, batch: ImportBatch, path: Path, *, quiet: bool) -> ImportBatch:
        if quiet:
            return import_batch_run(actor=actor, batch_id=batch.pk)
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        # The total is an estimate from the file size (rows are not counted ahead: that would be a third pass).
        estimate = max(1, batch.size // 60)
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.completed:,.0f} rows"), TimeElapsedColumn())
        with Progress(*columns, transient=False) as bar:
            validate = bar.add_task("validate", total=estimate)
            post = bar.add_task("post", total=estimate, visible=False)
            state = {"task": validate, "last": 0}

            def progress(rows: int) -> None:
                if rows < state["last"]:  # posting restarts the count
                    bar.update(validate, total=state["last"], completed=state["last"])
                    bar.update(post, visible=True, total=state["last"])
                    state["task"] = post
                state["last"] = rows
                bar.update(state["task"], completed=rows)

            result = import_batch_run(actor=actor, batch_id=batch.pk, progress=progress)
            bar.update(state["task"], total=max(result.row_count, 1), completed=result.row_count)
        return result

    def _problems(self, headline: str, errors: list[dict]) -> None:
        self.stderr.write(self.style.ERROR(headline))
        for e in errors:
            where = f"row {e['row']}" if e.get("row") is not None else "file"
            if e.get("field") and e["field"] != "file":  # "file, file: …" says the same thing twice
                where += f", {e['field']}"
            value = f" = {e['value']!r}" if e.get("value") is not None else ""
            self.stderr.write(f"  {where}{value}: {e.get('message')}")
