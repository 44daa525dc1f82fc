"""`manage.py audit_anchor [--show]`: write an anchor of the audit chain heads now, or show the latest."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from audit.anchor.services import anchor_latest, audit_anchor_write
from audit.anchor.store import anchor_store
from audit.errors import AuditAnchorRegressionError
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = ("Sign every organisation's audit chain head and the history tables' figures into the write-once "
            "anchor store (SHESHI_AUDIT_ANCHOR_DIR); the schedule does this hourly and after each period lock.")

    def add_arguments(self, parser):
        parser.add_argument("--show", action="store_true", help="print the latest anchor instead of writing one")

    def handle(self, *args, **options):
        store = anchor_store()
        if options["show"]:
            anchor = anchor_latest(store)
            if anchor is None:
                raise CommandError(f"no anchor in {store.describe()}")
            self.stdout.write(json.dumps(anchor.document, indent=2, sort_keys=True) if anchor.document
                              else f"{anchor.name}: {anchor.error}")
            return
        try:
            with system_context("audit_anchor"):
                written = audit_anchor_write(reason="manual", store=store)
        except AuditAnchorRegressionError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(f"{written.store}/{written.name}: {len(written.document['chains'])} chains, "
                          f"{len(written.document['history'])} history tables")
