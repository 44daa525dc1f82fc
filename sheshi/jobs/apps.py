from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background-job upkeep across apps: finding jobs whose worker or enqueue was lost and
    handing them to their tasks again; owns the django-q2 schedules that do it."""

    name = "sheshi.jobs"
    label = "jobs"
    verbose_name = "Job recovery"

    def ready(self):
        from sheshi.jobs import checks  # noqa: F401 - registers the job queue checks
