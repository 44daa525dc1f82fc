DROP TRIGGER IF EXISTS periods_move_permitted ON periods_entityperiod;
DROP FUNCTION IF EXISTS periods_move_permitted();
DROP TRIGGER IF EXISTS periods_entity_period_starts_open ON periods_entityperiod;
DROP FUNCTION IF EXISTS periods_entity_period_starts_open();
DROP TRIGGER IF EXISTS periods_calendar_fixed ON periods_period;
DROP TRIGGER IF EXISTS periods_calendar_fixed ON periods_fiscalyear;
DROP FUNCTION IF EXISTS periods_calendar_fixed();
