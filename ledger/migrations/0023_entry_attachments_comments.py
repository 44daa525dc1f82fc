"""Supporting documents (content-addressed) and comments on journal entries (issue 16): append-only
tables under row-level security and the audit trail (inserts captured)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from audit.operations import attach_audit
from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
NEW_TABLES = [("ledger_journalentryattachment", "ledger.journalentryattachment"),
              ("ledger_journalentrycomment", "ledger.journalentrycomment")]


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0010_schedule_audit_anchor'),
        ('ledger', '0022_entry_reverse_on'),
        ('tenancy', '0006_system_scope'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='JournalEntryAttachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sha256', models.CharField(max_length=64)),
                ('storage_name', models.CharField(max_length=200)),
                ('file_name', models.CharField(max_length=255)),
                ('size', models.BigIntegerField()),
                ('content_type', models.CharField(blank=True, default='', max_length=100)),
                ('uploaded_at', models.DateTimeField(auto_now_add=True)),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='attachments', to='ledger.journalentry')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
                ('uploaded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['entry_id', 'uploaded_at', 'id'],
                'constraints': [models.UniqueConstraint(fields=('entry', 'sha256'), name='entry_attachment_once'), models.CheckConstraint(condition=models.Q(('sha256__regex', '^[0-9a-f]{64}$')), name='entry_attachment_sha256_hex')],
            },
        ),
        migrations.CreateModel(
            name='JournalEntryComment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='comments', to='ledger.journalentry')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
            ],
            options={
                'ordering': ['entry_id', 'created_at', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('body__regex', '\\S')), name='entry_comment_not_blank')],
            },
        ),
        migrations.RunSQL((SQL_DIR / "0023_entry_records.sql").read_text(),
                          (SQL_DIR / "0023_entry_records_reverse.sql").read_text()),
        *[enable_tenant_rls(table) for table, _ in NEW_TABLES],
        # Append-only (their own triggers refuse UPDATE/DELETE/TRUNCATE): only inserts are captured.
        *[attach_audit(table, object_type=object_type, operations=("insert",), refuse_truncate=False)
          for table, object_type in NEW_TABLES],
    ]
