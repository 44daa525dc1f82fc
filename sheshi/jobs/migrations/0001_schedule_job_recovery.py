"""Schedule the job upkeep in django-q2: lost-job recovery every minute, the import reaper every
hour. Data migration only; it lives in this app because the schedules span ledger imports and
consolidation runs (the ledger's own migrations belong to the ledger's owners)."""
from django.db import migrations

SCHEDULES = {
    "jobs.lost_jobs_recover": {"func": "sheshi.jobs.tasks.lost_jobs_recover_task", "schedule_type": "I",
                               "minutes": 1, "repeats": -1},
    "ledger.import_batch_reap": {"func": "ledger.imports.tasks.import_batch_reap_task", "schedule_type": "H",
                                 "repeats": -1},
}


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, fields in SCHEDULES.items():
        Schedule.objects.update_or_create(name=name, defaults=fields)


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=list(SCHEDULES)).delete()


class Migration(migrations.Migration):
    dependencies = [("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(schedule, unschedule)]
