"""manage.py load_group_pack FILE.json --org CODE: load a whole consolidation case into a new
organisation. A malformed pack prints every problem (path, value, reason) and loads nothing."""
from __future__ import annotations

import json
import pathlib

from django.core.management.base import BaseCommand, CommandError

from consolidation.pack import GroupPackInvalidError, pack_errors_as_dicts
from consolidation.services.loader import group_pack_load
from sheshi.db.context import system_context
from sheshi.errors import SheshiError


class Command(BaseCommand):
    help = "Load a group pack (JSON) into a new organisation: entities, chart, posted TBs, rates, holdings."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="code of the organisation to create")
        parser.add_argument("--group", default="GROUP", help="code of the consolidation group (default GROUP)")

    def handle(self, *args, **opts):
        try:
            text = pathlib.Path(opts["file"]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc}") from exc
        try:
            with system_context("load_group_pack"):
                result = group_pack_load(source=text, org_code=opts["org"], group_code=opts["group"])
        except GroupPackInvalidError as exc:
            self.stderr.write(json.dumps({"error": exc.code, "errors": pack_errors_as_dicts(exc)}, indent=1))
            raise CommandError(f"The group pack has {len(exc.errors)} problem(s); nothing was loaded.") from exc
        except SheshiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail} {[e.as_dict() for e in exc.errors]}") from exc
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {result.organisation.code}: {result.entities} entities, {result.accounts} accounts, "
            f"{result.lines} TB lines; group {result.group.code}, period {result.period.code}."))
