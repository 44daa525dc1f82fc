DROP TRIGGER IF EXISTS idempotency_key_one_use ON sheshi_api_idempotencyrecord;
DROP TRIGGER IF EXISTS idempotency_key_one_use ON ledger_journalentry;
DROP TRIGGER IF EXISTS idempotency_key_one_use ON ledger_journalentrybatch;
DROP FUNCTION IF EXISTS ledger_idempotency_key_one_use();
DROP FUNCTION IF EXISTS ledger_idempotency_key_used_elsewhere(bigint, text, text, bigint);
