DROP TRIGGER IF EXISTS consolidation_fx_rate_guard ON consolidation_fxrate;
DROP FUNCTION IF EXISTS consolidation_fx_rate_guard();
DROP FUNCTION IF EXISTS consolidation_fx_rate_locked(bigint, date);
