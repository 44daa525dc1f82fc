from ledger.imports.models import ImportBatch, ImportStatus, SourceSystem  # models of ledger/imports
from ledger.models.accounts import Account, AccountKind, AccountRole, AccountType, LocalAccountMapping, NormalBalance
from ledger.models.attachments import JournalEntryAttachment, JournalEntryComment
from ledger.models.balances import Balance
from ledger.models.batches import JournalEntryBatch
from ledger.models.journals import EntrySource, EntryStatus, JournalEntry, JournalLine
from ledger.models.recurring import JournalRecurrence, JournalRecurrenceRun, RecurrenceFrequency, RecurrenceRunStatus
from ledger.models.templates import JournalTemplate

__all__ = [
    "Account",
    "AccountKind",
    "AccountRole",
    "AccountType",
    "Balance",
    "EntrySource",
    "EntryStatus",
    "ImportBatch",
    "ImportStatus",
    "JournalEntry",
    "JournalEntryAttachment",
    "JournalEntryBatch",
    "JournalEntryComment",
    "JournalLine",
    "JournalRecurrence",
    "JournalRecurrenceRun",
    "JournalTemplate",
    "LocalAccountMapping",
    "NormalBalance",
    "RecurrenceFrequency",
    "RecurrenceRunStatus",
    "SourceSystem",
]
