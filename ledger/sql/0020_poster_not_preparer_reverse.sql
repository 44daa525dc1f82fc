DROP TRIGGER IF EXISTS ledger_entry_poster_guard ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_poster_guard();
