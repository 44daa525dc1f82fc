DROP TRIGGER IF EXISTS periods_entity_period_guard ON periods_entityperiod;
DROP TRIGGER IF EXISTS periods_snapshot_append_only ON periods_periodlocksnapshot;
DROP TRIGGER IF EXISTS periods_snapshot_no_truncate ON periods_periodlocksnapshot;
DROP FUNCTION IF EXISTS periods_entity_period_guard();
DROP FUNCTION IF EXISTS periods_snapshot_append_only();
