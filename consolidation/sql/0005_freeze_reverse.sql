DROP TRIGGER IF EXISTS consolidation_fx_rate_freeze ON consolidation_fxrate;
DROP FUNCTION IF EXISTS consolidation_fx_rate_freeze();
DROP FUNCTION IF EXISTS consolidation_fx_rate_entity_locked(bigint, text, date);
DROP TRIGGER IF EXISTS consolidation_adjustment_freeze ON consolidation_acquisitionadjustment;
DROP TRIGGER IF EXISTS consolidation_adjustment_freeze ON consolidation_adjustmentline;
DROP FUNCTION IF EXISTS consolidation_adjustment_freeze();
DROP FUNCTION IF EXISTS consolidation_adjustment_locked(bigint);
DROP TRIGGER IF EXISTS consolidation_holding_freeze ON consolidation_groupmember;
DROP FUNCTION IF EXISTS consolidation_holding_freeze();
