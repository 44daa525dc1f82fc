"""`createsuperuser`, recorded in the audit trail as the operator's command: user accounts are
governed (a trigger records every change to them and refuses one made with no actor set)."""
from django.contrib.auth.management.commands.createsuperuser import Command as DjangoCreateSuperuser

from sheshi.db.context import system_context


class Command(DjangoCreateSuperuser):
    def handle(self, *args, **options):
        with system_context("createsuperuser", using=options["database"]):
            return super().handle(*args, **options)
