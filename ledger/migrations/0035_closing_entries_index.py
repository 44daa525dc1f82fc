"""A partial index of the closing entries by entity: the posting rule's closed-fiscal-year check
(ledger_entries_posted) read every entry of the posting's entity to find them (issue 18)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0034_posting_lines_by_range'),
        ('periods', '0009_state_values'),
        ('tenancy', '0008_superuser_guard'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='journalentry',
            index=models.Index(condition=models.Q(('source', 'closing')), fields=['entity', 'period'], name='entry_closing_by_entity'),
        ),
    ]
