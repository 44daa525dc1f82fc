"""Shared plumbing for the period management commands: arguments, system context, errors."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from periods.models import EntityPeriod, PeriodLockSnapshot
from periods.services.close import entity_periods_move, entity_periods_resolve, organisation_by_code
from sheshi.db.context import system_context
from sheshi.errors import SheshiError


def error_text(exc: SheshiError) -> str:
    lines = [f"{exc.detail} [{exc.code}]"]
    lines += [f"  - {e.field}: {e.message}" for e in exc.errors]
    return "\n".join(lines)


def add_scope_arguments(parser, *, period: bool = True) -> None:
    parser.add_argument("--org", required=True, help="organisation code")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--entity", action="append", metavar="CODE", help="entity code (repeatable)")
    who.add_argument("--all", action="store_true", help="every active entity of the organisation")
    if period:
        parser.add_argument("--period", required=True, metavar="YYYY-MM", help="period code, e.g. 2026-03 or FY2026-13")


class PeriodTransitionCommand(BaseCommand):
    """Move the period of one, several or all entities to ``target``; all or nothing."""

    target = ""
    needs_reason = False

    def add_arguments(self, parser):
        add_scope_arguments(parser)
        parser.add_argument("--reason", default="", help="why (required to reopen)")

    def transition_options(self, options) -> dict:
        return {}

    def handle(self, *args, **options):
        reason = (options["reason"] or "").strip()
        if self.needs_reason and not reason:
            raise CommandError(f"{self.command_name()} needs --reason \"...\": a written reason is required. "
                               "[reason_required]")
        with system_context(self.command_name()):
            try:
                org = organisation_by_code(options["org"])
                eps = entity_periods_resolve(organisation=org, period_code=options["period"],
                                             entity_codes=None if options["all"] else options["entity"])
                entity_periods_move(actor=None, entity_period_ids=[ep.pk for ep in eps], to=self.target,
                                    reason=reason, **self.transition_options(options))
            except SheshiError as exc:
                raise CommandError(error_text(exc)) from exc
            for ep in EntityPeriod.objects.select_related("entity", "period").filter(pk__in=[e.pk for e in eps]) \
                    .order_by("entity__code"):
                # The state as a person reads it ("soft-closed"), as the admin shows it.
                line = f"{ep.entity.code} {ep.period.code}: {ep.get_state_display().lower()}"
                snap = PeriodLockSnapshot.objects.filter(entity_period=ep).order_by("-taken_at").first() \
                    if ep.state == "locked" else None
                if snap is not None:
                    line += f" (snapshot {snap.sha256[:16]}…, {snap.line_count} lines)"
                self.stdout.write(line)

    def command_name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]
