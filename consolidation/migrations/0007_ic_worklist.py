"""The intercompany worklist (issue #17): differences per group, period and pair, with status,
assignee, explanation, comments and history; tenant-scoped, audited, history rows guarded."""

import django.db.models.deletion
import django.db.models.expressions
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from audit.operations import attach_audit
from sheshi.db.hardening import GUARD_HISTORY_SQL
from sheshi.db.rls import enable_tenant_rls


class Migration(migrations.Migration):

    dependencies = [
        ('consolidation', '0006_schema_hardening'),
        ('ledger', '0020_poster_not_preparer'),
        ('periods', '0007_close_order'),
        ('tenancy', '0005_segregation_policies'),
        ('audit', '0009_attach_governed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalIcDifference',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('request_id', models.CharField(blank=True, default='', max_length=64)),
                ('entity_amount', models.DecimalField(decimal_places=4, max_digits=20)),
                ('counterparty_amount', models.DecimalField(decimal_places=4, max_digits=20)),
                ('difference', models.DecimalField(decimal_places=4, max_digits=20)),
                ('eliminated', models.DecimalField(decimal_places=4, max_digits=20)),
                ('status', models.CharField(choices=[('open', 'Open'), ('explained', 'Explained'), ('resolved', 'Resolved')], default='open', max_length=10)),
                ('explanation', models.TextField(blank=True, default='')),
                ('resolution', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('updated_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('account', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='ledger.account')),
                ('assignee', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('counterparty', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.entity')),
                ('counterparty_account', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='ledger.account')),
                ('entity', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.entity')),
                ('first_run', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='consolidation.consolidationrun')),
                ('group', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='consolidation.consolidationgroup')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organisation', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenancy.organisation')),
                ('period', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='periods.period')),
                ('run', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='consolidation.consolidationrun')),
            ],
            options={
                'verbose_name': 'historical ic difference',
                'verbose_name_plural': 'historical ic differences',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='IcDifference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('entity_amount', models.DecimalField(decimal_places=4, max_digits=20)),
                ('counterparty_amount', models.DecimalField(decimal_places=4, max_digits=20)),
                ('difference', models.DecimalField(decimal_places=4, max_digits=20)),
                ('eliminated', models.DecimalField(decimal_places=4, max_digits=20)),
                ('status', models.CharField(choices=[('open', 'Open'), ('explained', 'Explained'), ('resolved', 'Resolved')], default='open', max_length=10)),
                ('explanation', models.TextField(blank=True, default='')),
                ('resolution', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.account')),
                ('assignee', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('counterparty', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.entity')),
                ('counterparty_account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.account')),
                ('entity', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.entity')),
                ('first_run', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consolidation.consolidationrun')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ic_differences', to='consolidation.consolidationgroup')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
                ('period', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='periods.period')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ic_items', to='consolidation.consolidationrun')),
            ],
            options={
                'ordering': ['group_id', 'period_id', 'entity_id', 'account_id', 'counterparty_id'],
            },
        ),
        migrations.CreateModel(
            name='IcComment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
                ('difference', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='comments', to='consolidation.icdifference')),
            ],
            options={
                'ordering': ['difference_id', 'created_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='icdifference',
            index=models.Index(fields=['group', 'period', 'status'], name='ic_difference_worklist'),
        ),
        migrations.AddConstraint(
            model_name='icdifference',
            constraint=models.UniqueConstraint(fields=('group', 'period', 'entity', 'account', 'counterparty'), name='ic_difference_pair_unique'),
        ),
        migrations.AddConstraint(
            model_name='icdifference',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'explained', 'resolved'])), name='ic_difference_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='icdifference',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'open'), models.Q(('explanation__regex', '\\S'), ('status', 'explained')), models.Q(('resolution__regex', '\\S'), ('status', 'resolved')), _connector='OR'), name='ic_difference_status_has_text'),
        ),
        migrations.AddConstraint(
            model_name='icdifference',
            constraint=models.CheckConstraint(condition=models.Q(('difference', django.db.models.expressions.CombinedExpression(models.F('entity_amount'), '+', models.F('counterparty_amount')))), name='ic_difference_is_the_sum'),
        ),
        migrations.AddConstraint(
            model_name='iccomment',
            constraint=models.CheckConstraint(condition=models.Q(('text__regex', '\\S')), name='ic_comment_not_blank'),
        ),
        enable_tenant_rls('consolidation_icdifference'),
        enable_tenant_rls('consolidation_historicalicdifference'),
        enable_tenant_rls('consolidation_iccomment'),
        attach_audit('consolidation_icdifference', object_type='consolidation.icdifference'),
        attach_audit('consolidation_iccomment', object_type='consolidation.iccomment'),
        migrations.RunSQL(GUARD_HISTORY_SQL, migrations.RunSQL.noop),
    ]
