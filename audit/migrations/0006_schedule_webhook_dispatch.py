"""Schedule webhook delivery: every minute the django-q2 cluster hands each subscription with
undelivered events to a delivery task (audit.tasks.webhooks_dispatch). Data migration only."""
from django.db import migrations


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="audit.webhooks_dispatch",
        defaults={"func": "audit.tasks.webhooks_dispatch", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="audit.webhooks_dispatch").delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_webhooks"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(schedule, unschedule)]
