"""Schedule the recurring journal entries in django-q2: once a day, the drafts due in each
organisation's current period (ledger/tasks.py). Data migration only."""
from django.db import migrations

NAME = "ledger.recurring_entries_generate"
FIELDS = {"func": "ledger.tasks.recurring_entries_generate_task", "schedule_type": "D", "repeats": -1}


def schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(name=NAME, defaults=FIELDS)


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0025_journal_recurrences"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
