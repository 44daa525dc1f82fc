"""The close workspace (issue #16): checklist tasks with a reviewer's sign-off and comments,
templates per entity, reconciliations of the closing balance against an entered statement
balance with reconciling items and content-addressed evidence.

The reconciliation's pinned figure was the month's movement; it is renamed to the closing balance
it now holds. Rows signed before this migration keep their old (movement) pin as their statement
balance too, so they satisfy the new rule; their sign-offs show as lapsed wherever the closing
balance differs from the movement, which is the truth: they certified the wrong figure."""
from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from audit.operations import attach_audit
from sheshi.db.rls import enable_tenant_rls

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
BACKFILL = """SELECT set_config('sheshi.actor_label', 'migration:periods.0008', true);
UPDATE periods_accountreconciliation SET statement_balance = pinned_closing_balance
 WHERE status <> 'open' AND statement_balance IS NULL;"""
NEW_TABLES = [("periods_reconcilingitem", "periods.reconcilingitem"),
              ("periods_reconciliationevidence", "periods.reconciliationevidence"),
              ("periods_checklisttaskcomment", "periods.checklisttaskcomment")]


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_attach_ledger_periods'),
        ('ledger', '0020_poster_not_preparer'),
        ('periods', '0007_close_order'),
        ('tenancy', '0005_segregation_policies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ChecklistTaskComment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['task_id', 'created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReconciliationEvidence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sha256', models.CharField(max_length=64)),
                ('storage_name', models.CharField(max_length=200)),
                ('file_name', models.CharField(max_length=255)),
                ('size', models.BigIntegerField()),
                ('content_type', models.CharField(blank=True, default='', max_length=100)),
                ('uploaded_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['reconciliation_id', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ReconcilingItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('description', models.CharField(max_length=300)),
                ('amount', models.DecimalField(decimal_places=4, max_digits=20)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['reconciliation_id', 'id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='accountreconciliation',
            name='reconciliation_signed_has_pin',
        ),
        migrations.RemoveConstraint(
            model_name='checklisttask',
            name='checklist_task_status_valid',
        ),
        migrations.RemoveConstraint(
            model_name='checklisttask',
            name='checklist_task_done_has_completion',
        ),
        migrations.RenameField(
            model_name='accountreconciliation',
            old_name='pinned_functional_net',
            new_name='pinned_closing_balance',
        ),
        migrations.RenameField(
            model_name='historicalaccountreconciliation',
            old_name='pinned_functional_net',
            new_name='pinned_closing_balance',
        ),
        migrations.AddField(
            model_name='accountreconciliation',
            name='statement_balance',
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name='checklisttask',
            name='requires_review',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='checklisttask',
            name='signed_off_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='checklisttask',
            name='signed_off_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='checklisttemplate',
            name='entity',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='checklist_templates', to='tenancy.entity'),
        ),
        migrations.AddField(
            model_name='checklisttemplateitem',
            name='requires_review',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='historicalaccountreconciliation',
            name='statement_balance',
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name='historicalchecklisttask',
            name='requires_review',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='historicalchecklisttask',
            name='signed_off_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='historicalchecklisttask',
            name='signed_off_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalchecklisttemplate',
            name='entity',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.entity'),
        ),
        migrations.AddField(
            model_name='historicalchecklisttemplateitem',
            name='requires_review',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='checklisttask',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('done', 'Done'), ('signed_off', 'Signed off')], default='open', max_length=12),
        ),
        migrations.AlterField(
            model_name='historicalchecklisttask',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('done', 'Done'), ('signed_off', 'Signed off')], default='open', max_length=12),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='accountreconciliation',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'open'), models.Q(('pinned_closing_balance__isnull', False), ('pinned_line_count__isnull', False), ('prepared_at__isnull', False), ('statement_balance__isnull', False), models.Q(('pinned_lines_sha256', ''), _negated=True)), _connector='OR'), name='reconciliation_signed_has_pin'),
        ),
        migrations.AddConstraint(
            model_name='checklisttask',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'in_progress', 'done', 'signed_off'])), name='checklist_task_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='checklisttask',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['done', 'signed_off']), ('completed_at__isnull', False)), models.Q(models.Q(('status__in', ['done', 'signed_off']), _negated=True), ('completed_at__isnull', True), ('completed_by__isnull', True)), _connector='OR'), name='checklist_task_done_has_completion'),
        ),
        migrations.AddConstraint(
            model_name='checklisttask',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'signed_off'), ('requires_review', True), ('signed_off_at__isnull', False), ('signed_off_by__isnull', False)), models.Q(models.Q(('status', 'signed_off'), _negated=True), ('signed_off_at__isnull', True), ('signed_off_by__isnull', True)), _connector='OR'), name='checklist_task_signed_off_has_reviewer'),
        ),
        migrations.AddConstraint(
            model_name='checklisttask',
            constraint=models.CheckConstraint(condition=models.Q(('signed_off_by__isnull', True), models.Q(('signed_off_by', models.F('completed_by')), _negated=True), _connector='OR'), name='checklist_task_reviewer_not_preparer'),
        ),
        migrations.AddField(
            model_name='checklisttaskcomment',
            name='author',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='checklisttaskcomment',
            name='organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation'),
        ),
        migrations.AddField(
            model_name='checklisttaskcomment',
            name='task',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='comments', to='periods.checklisttask'),
        ),
        migrations.AddField(
            model_name='reconciliationevidence',
            name='organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation'),
        ),
        migrations.AddField(
            model_name='reconciliationevidence',
            name='reconciliation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='evidence', to='periods.accountreconciliation'),
        ),
        migrations.AddField(
            model_name='reconciliationevidence',
            name='uploaded_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='reconcilingitem',
            name='created_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='reconcilingitem',
            name='organisation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation'),
        ),
        migrations.AddField(
            model_name='reconcilingitem',
            name='reconciliation',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='items', to='periods.accountreconciliation'),
        ),
        migrations.AddConstraint(
            model_name='checklisttaskcomment',
            constraint=models.CheckConstraint(condition=models.Q(('body', ''), _negated=True), name='checklist_comment_not_empty'),
        ),
        migrations.AddConstraint(
            model_name='reconciliationevidence',
            constraint=models.UniqueConstraint(fields=('reconciliation', 'sha256'), name='reconciliation_evidence_once'),
        ),
        migrations.AddConstraint(
            model_name='reconciliationevidence',
            constraint=models.CheckConstraint(condition=models.Q(('sha256__regex', '^[0-9a-f]{64}$')), name='reconciliation_evidence_sha256_hex'),
        ),
        migrations.AddConstraint(
            model_name='reconcilingitem',
            constraint=models.CheckConstraint(condition=models.Q(('description', ''), _negated=True), name='reconciling_item_described'),
        ),
        migrations.AddConstraint(
            model_name='reconcilingitem',
            constraint=models.CheckConstraint(condition=models.Q(('amount', 0), _negated=True), name='reconciling_item_not_zero'),
        ),
        migrations.RunSQL((SQL_DIR / "0008_close_records.sql").read_text(),
                          (SQL_DIR / "0008_close_records_reverse.sql").read_text()),
        *[enable_tenant_rls(table) for table, _ in NEW_TABLES],
        # Append-only (their own triggers refuse UPDATE/DELETE/TRUNCATE): only inserts are captured.
        *[attach_audit(table, object_type=object_type, operations=("insert",), refuse_truncate=False)
          for table, object_type in NEW_TABLES],
    ]
