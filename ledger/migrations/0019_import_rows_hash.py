"""Import batches remember the hash of their rows as read, so a file re-saved with other line
endings (or a BOM, another delimiter or encoding) is not imported twice; an explicit reason lets a
person import the same rows again (issue 15.10)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0018_entry_period_rules'),
        ('periods', '0005_history_rls'),
        ('tenancy', '0003_history_rls'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='importbatch',
            name='duplicate_rows_reason',
            field=models.CharField(blank=True, db_default='', default='', max_length=500),
        ),
        migrations.AddField(
            model_name='importbatch',
            name='rows_sha256',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddConstraint(
            model_name='importbatch',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ('pending', 'running', 'posted')), models.Q(('rows_sha256', ''), _negated=True), ('duplicate_rows_reason', '')), fields=('entity', 'rows_sha256'), name='import_same_rows_once'),
        ),
    ]
