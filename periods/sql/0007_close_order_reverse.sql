DROP TRIGGER IF EXISTS periods_close_order_guard ON periods_entityperiod;
DROP FUNCTION IF EXISTS periods_close_order_guard();
