"""Load the demo group (idempotent) and print how to log in."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sheshi.db.context import system_context
from sheshi.demo.loader import DEMO_PASSWORD, USERS, load_demo


class Command(BaseCommand):
    help = "Create the demo group (organisation DEMO, four entities, users in every role, a year of journals)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off (never in production)")

    def handle(self, *args, **opts):
        if not settings.DEBUG and not opts["force"]:
            raise CommandError("load_demo creates users with a published password; it runs only with DEBUG on "
                               "(the dev profile) unless --force is given.")
        with system_context("load_demo"):
            load_demo(stdout=self.stdout)
        names = ", ".join(u[0] for u in USERS)
        self.stdout.write(self.style.SUCCESS(f"Demo group DEMO ready. Logins: {names} — password '{DEMO_PASSWORD}'"))
