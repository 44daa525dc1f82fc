"""`manage.py webhooks_deliver [--subscription ID]`: run webhook delivery now, in this process."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.services.webhooks import webhook_deliver, webhook_subscriptions_due
from sheshi.db.context import system_context


class Command(BaseCommand):
    help = "Deliver pending audit events to webhook subscribers (all due subscriptions, or one)."

    def add_arguments(self, parser):
        parser.add_argument("--subscription", type=int)

    def handle(self, *args, **options):
        with system_context("webhooks_deliver"):
            ids = [options["subscription"]] if options["subscription"] else webhook_subscriptions_due()
            for sub_id in ids:
                n = webhook_deliver(subscription_id=sub_id, ignore_backoff=bool(options["subscription"]))
                self.stdout.write(f"subscription {sub_id}: {n} events delivered")
