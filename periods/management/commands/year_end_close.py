from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ledger.services.year_end import year_end_close, year_end_reopen
from periods.cli import add_scope_arguments, error_text
from periods.errors import BatchRefusedError
from periods.models import FiscalYear
from periods.services.close import organisation_by_code
from sheshi.db.context import system_context
from sheshi.errors import FieldError, NotFound, SheshiError
from sheshi.tenancy.models import Entity


class Command(BaseCommand):
    help = ("Post the year-end closing entry (income and expense into retained earnings) for one, several or all "
            "entities, all or nothing; --reopen --reason reverses it.")

    def add_arguments(self, parser):
        add_scope_arguments(parser, period=False)
        year = parser.add_mutually_exclusive_group(required=True)
        year.add_argument("--year", type=int, help="fiscal year FY<year>")
        year.add_argument("--period", metavar="YYYY-MM", help="any period of the fiscal year")
        parser.add_argument("--reopen", action="store_true", help="reverse the closing entry")
        parser.add_argument("--reason", default="", help="why (required with --reopen)")

    def handle(self, *args, **options):
        reason = (options["reason"] or "").strip()
        if options["reopen"] and not reason:
            raise CommandError("year_end_close --reopen needs --reason \"...\". [reason_required]")
        with system_context("year_end_close"):
            try:
                org = organisation_by_code(options["org"])
                fy = self._fiscal_year(org, options)
                entities = self._entities(org, options)
                done = self._run(entities, fy, options["reopen"], reason)
            except SheshiError as exc:
                raise CommandError(error_text(exc)) from exc
        for entity, entry in done:
            self.stdout.write(f"{entity.code} {fy.code}: {'reversed by' if options['reopen'] else 'closing'} "
                              f"entry {entry.pk}")

    @transaction.atomic
    def _run(self, entities, fy, reopen: bool, reason: str):
        done, errors = [], []
        for entity in entities:
            try:
                with transaction.atomic():
                    entry = (year_end_reopen(actor=None, entity=entity, fiscal_year=fy, reason=reason) if reopen
                             else year_end_close(actor=None, entity=entity, fiscal_year=fy))
                done.append((entity, entry))
            except SheshiError as exc:
                errors.append(FieldError(entity.code, exc.detail, code=exc.code))
                errors += [FieldError(f"{entity.code}.{e.field}", e.message, code=e.code) for e in exc.errors]
        if errors:
            raise BatchRefusedError("Nothing was posted.", errors=errors)
        return done

    def _fiscal_year(self, org, options) -> FiscalYear:
        if options["year"]:
            fy = FiscalYear.objects.filter(organisation=org, code=f"FY{options['year']}").first()
        else:
            fy = FiscalYear.objects.filter(organisation=org, periods__code=options["period"]).first()
        if fy is None:
            raise NotFound(f"No such fiscal year in organisation {org.code}.")
        return fy

    def _entities(self, org, options) -> list[Entity]:
        if options["all"]:
            return list(Entity.objects.filter(organisation=org, is_active=True).order_by("code"))
        found = {e.code: e for e in Entity.objects.filter(organisation=org, code__in=options["entity"])}
        missing = [c for c in options["entity"] if c not in found]
        if missing:
            raise NotFound(f"Entity {', '.join(missing)} is not in organisation {org.code}.")
        return [found[c] for c in options["entity"]]
