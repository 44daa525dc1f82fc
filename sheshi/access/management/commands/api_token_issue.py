"""Issue an API token for a user and print its secret once (only its hash is stored)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sheshi.access.models import TokenScope
from sheshi.access.services.tokens import MAX_TOKEN_DAYS, api_token_issue
from sheshi.db.context import system_context
from sheshi.errors import SheshiError


class Command(BaseCommand):
    help = "Issue an API token for a user; the secret is printed once and cannot be shown again."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the token's owner")
        parser.add_argument("--name", required=True, help="what the token is for, e.g. 'ERP sync'")
        parser.add_argument("--scope", action="append", choices=TokenScope.values, dest="scopes",
                            help="read and/or write (repeat the option); default: read")
        parser.add_argument("--days", type=int, default=90, help=f"lifetime, 1-{MAX_TOKEN_DAYS} days (default 90)")

    def handle(self, *args, **options):
        with system_context("api_token_issue"):
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r}.")
            try:
                token, secret = api_token_issue(user=user, name=options["name"], scopes=options["scopes"] or ["read"],
                                                days=options["days"])
            except SheshiError as exc:
                problems = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
                raise CommandError(f"{exc.detail} {problems}".strip()) from exc
        self.stderr.write(f"Token {token.prefix} ({token.name}) for {user.get_username()}, scopes "
                          f"{','.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d}. The secret below is shown "
                          "once; store it now.")
        self.stdout.write(secret)
