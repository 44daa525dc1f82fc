from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "General ledger"

    def ready(self) -> None:
        from ledger import errors  # noqa: F401  (registers database rule names → problem codes)
        from ledger.imports.tasks import IMPORT_BATCH_JOB
        from ledger.selectors.books import LedgerBooks
        from periods.books import books_register
        from sheshi.db.roles import register_read_only
        from sheshi.jobs.kinds import job_kind_register

        register_read_only("ledger_line_entry_pending", "ledger_balance")  # written only by the ledger's own functions
        books_register(LedgerBooks())  # the close asks the books through periods/books.py
        job_kind_register(IMPORT_BATCH_JOB)  # lost imports are found and re-enqueued by sheshi/jobs
