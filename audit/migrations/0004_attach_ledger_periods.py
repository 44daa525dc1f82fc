from django.db import migrations

from audit.operations import attach_audit

# Every ledger and periods table that holds recorded facts. Not attached: ledger_balance (derived
# from posted lines by the ledger's own functions and re-checkable with verify_balances) and the
# simple-history tables (history of the rows audited here). Journal lines written by the bulk path
# (COPY in chunks) take the summary path: one event per organisation per statement with a digest.
AUDITED = [
    ("ledger_account", "ledger.account"),
    ("ledger_localaccountmapping", "ledger.localaccountmapping"),
    ("ledger_journalentry", "ledger.journalentry"),
    ("ledger_journalline", "ledger.journalline"),
    ("ledger_sourcesystem", "ledger.sourcesystem"),
    ("ledger_importbatch", "ledger.importbatch"),
    ("periods_fiscalyear", "periods.fiscalyear"),
    ("periods_period", "periods.period"),
    ("periods_entityperiod", "periods.entityperiod"),
    ("periods_checklisttemplate", "periods.checklisttemplate"),
    ("periods_checklisttemplateitem", "periods.checklisttemplateitem"),
    ("periods_checklisttask", "periods.checklisttask"),
    ("periods_accountreconciliation", "periods.accountreconciliation"),
    ("periods_groupperiodlock", "periods.groupperiodlock"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_attach_tenancy"),
        ("ledger", "0004_import_batches"),
        ("periods", "0004_close_rules"),
    ]

    operations = [attach_audit(table, object_type=object_type) for table, object_type in AUDITED] + [
        # Append-only evidence: their own triggers refuse UPDATE/DELETE/TRUNCATE; only inserts happen.
        attach_audit("periods_periodlocksnapshot", object_type="periods.periodlocksnapshot", operations=("insert",),
                     refuse_truncate=False),
        attach_audit("periods_lockoverride", object_type="periods.lockoverride", operations=("insert",),
                     refuse_truncate=False),
    ]
