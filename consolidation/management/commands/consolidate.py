"""manage.py consolidate --org ORG --period YYYY-MM [--group CODE] [--format json|summary]
[--xlsx FILE] [--queue]: run the consolidation here (recorded as a run, nothing queued) and print
the result; with --queue, queue the run for the worker instead and print its id."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from consolidation.models import ConsolidationGroup, RunStatus
from consolidation.selectors.boardpack import board_pack_write
from consolidation.selectors.explain import account_components
from consolidation.services.runs import (
    consolidation_run_create,
    consolidation_run_execute,
    consolidation_run_request,
)
from periods.models import Period
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Consolidate a group for a period and print the result."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--group", default=None, help="group code (default: the organisation's only group)")
        parser.add_argument("--format", choices=["json", "summary"], default="json")
        parser.add_argument("--components", action="store_true",
                            help="include every account's components (rebuilt from the stored run)")
        parser.add_argument("--xlsx", help="also write the board pack to this file")
        parser.add_argument("--queue", action="store_true",
                            help="queue the run for the worker (django-q2) instead of running it here")

    def handle(self, *args, **opts):
        with system_context("consolidate"):
            groups = ConsolidationGroup.objects.filter(organisation__code=opts["org"])
            if opts["group"]:
                groups = groups.filter(code=opts["group"])
            groups = list(groups.select_related("organisation", "top_entity"))
            if len(groups) != 1:
                raise CommandError(f"Expected one consolidation group in {opts['org']}, found {len(groups)}.")
            period = Period.objects.filter(organisation=groups[0].organisation, code=opts["period"]).first()
            if period is None:
                raise CommandError(f"No period {opts['period']} in {opts['org']}.")
            if opts["queue"]:
                run = consolidation_run_request(actor=None, group=groups[0], period=period,
                                                label="manage.py consolidate --queue")
                self.stdout.write(json.dumps({"run": {"id": run.pk, "status": run.status}})
                                  if opts["format"] == "json" else f"run {run.pk} queued")
                return
            # Run here, as the worker would: the run is recorded (committed) and executed, and no
            # job is queued for it (a queued duplicate would find it finished and do nothing).
            run = consolidation_run_create(actor=None, group=groups[0], period=period, label="manage.py consolidate")
            run = consolidation_run_execute(run_id=run.pk)
            run.refresh_from_db()
            if run.status != RunStatus.SUCCEEDED:
                raise CommandError(f"Run {run.pk} {run.status}: {json.dumps(run.error)}")
            if opts["xlsx"]:
                board_pack_write(run, opts["xlsx"])
        results = dict(run.results)
        if opts["components"]:
            results["components"] = {code: account_components(run.results, code)
                                     for code in sorted(run.results["consolidated_tb"])}
        results["run"] = {"id": run.pk, "changed_inputs": run.changed_inputs, "duration_ms": run.duration_ms}
        if opts["format"] == "json":
            self.stdout.write(json.dumps(results, indent=1))
        else:
            t = results["totals"]
            self.stdout.write(f"run {run.pk} fingerprint {run.fingerprint}\nassets {t['assets']} liabilities "
                              f"{t['liabilities']} equity {t['equity']} net income {t['net_income']}\n"
                              f"NCI {results['nci_equity']} goodwill {results['goodwill']} CTA {results['cta']} "
                              f"IC differences {len(results['ic_differences'])}")
