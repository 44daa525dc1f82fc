from django.apps import AppConfig


class ConsolidationConfig(AppConfig):
    name = "consolidation"
    verbose_name = "Consolidation"

    def ready(self) -> None:
        from consolidation.selectors.runs import ic_open_counts
        from consolidation.tasks import CONSOLIDATION_RUN_JOB
        from periods.ic_sources import ic_open_counts_register
        from sheshi.jobs.kinds import job_kind_register

        job_kind_register(CONSOLIDATION_RUN_JOB)  # lost runs are found and re-enqueued by sheshi/jobs
        ic_open_counts_register(ic_open_counts)  # the close dashboard's intercompany column
