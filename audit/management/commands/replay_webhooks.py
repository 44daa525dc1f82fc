"""`manage.py replay_webhooks --subscription ID --from-seq N`: deliver again from seq N (inclusive)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.services.webhooks import webhook_replay
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Move a webhook subscription's cursor back so events from --from-seq are delivered again."

    def add_arguments(self, parser):
        parser.add_argument("--subscription", type=int, required=True)
        parser.add_argument("--from-seq", type=int, required=True)

    def handle(self, *args, **options):
        with system_context("replay_webhooks"):
            state = webhook_replay(subscription_id=options["subscription"], from_seq=options["from_seq"])
        self.stdout.write(f"subscription {options['subscription']}: cursor at seq {state.cursor_seq}; the next "
                          f"delivery run starts at seq {state.cursor_seq + 1}")
