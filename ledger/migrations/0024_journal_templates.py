"""Journal templates (issue 16): under row-level security and the audit trail."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from audit.operations import attach_audit
from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0023_entry_attachments_comments'),
        ('tenancy', '0006_system_scope'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='JournalTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('description', models.CharField(max_length=500)),
                ('reference', models.CharField(blank=True, default='', max_length=100)),
                ('lines', models.JSONField()),
                ('source_entry_id', models.BigIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entity', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='journal_templates', to='tenancy.entity')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
            ],
            options={
                'ordering': ['entity_id', 'name'],
                'constraints': [models.UniqueConstraint(fields=('entity', 'name'), name='journal_template_name_unique'), models.CheckConstraint(condition=models.Q(('name__regex', '\\S')), name='journal_template_named')],
            },
        ),
        enable_tenant_rls("ledger_journaltemplate"),
        attach_audit("ledger_journaltemplate", object_type="ledger.journaltemplate"),
    ]
