"""Schedule chain anchoring: every hour the django-q2 cluster signs the audit chain heads and the
history tables' figures into the write-once anchor store (audit.tasks.audit_anchor_task,
audit/anchor/). Data migration only; change the interval on the Schedule row (admin) if needed."""
from django.db import migrations


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="audit.anchor",
        defaults={"func": "audit.tasks.audit_anchor_task", "kwargs": "{'reason': 'schedule'}",
                  "schedule_type": "H", "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="audit.anchor").delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_attach_governed"),
                    ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(schedule, unschedule)]
