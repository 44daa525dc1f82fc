"""Schedule the purge of Idempotency-Key records past their retention in django-q2, every hour
(sheshi/api/tasks.py). Data migration only."""
from django.db import migrations

NAME = "api.idempotency_purge"
FIELDS = {"func": "sheshi.api.tasks.idempotency_records_purge_task", "schedule_type": "H", "repeats": -1}


def schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(name=NAME, defaults=FIELDS)


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sheshi_api", "0002_idempotency_created_index"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
