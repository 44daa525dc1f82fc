from ledger.models.accounts import Account, AccountKind, AccountRole, AccountType, LocalAccountMapping, NormalBalance
from ledger.models.balances import Balance
from ledger.models.journals import EntrySource, EntryStatus, JournalEntry, JournalLine

__all__ = [
    "Account", "AccountKind", "AccountRole", "AccountType", "Balance", "EntrySource", "EntryStatus",
    "JournalEntry", "JournalLine", "LocalAccountMapping", "NormalBalance",
]
