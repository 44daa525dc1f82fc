"""`migrate`, run as the schema owner (DATABASE_OWNER_URL), never as the application's role."""
from django.core.management.commands.migrate import Command as DjangoMigrate

from sheshi.db.roles import restore_credentials, use_owner_credentials


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the schema owner role (DATABASE_OWNER_URL)."

    def handle(self, *args, **options):
        previous = use_owner_credentials(options["database"])
        try:
            return super().handle(*args, **options)
        finally:
            restore_credentials(previous, options["database"])
