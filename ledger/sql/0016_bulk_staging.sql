-- 0016: the bulk path's staging tables are made by the schema owner. The application's role may
-- not create temporary tables at all (a temporary table named like a guarded one would shadow it
-- for any function that resolves names through the session's search path: see
-- consolidation/migrations/0006_pin_search_path.py), so the owner creates exactly these two, for
-- the current transaction only, with the types of the real columns and no constraints (the real
-- tables check everything), and lets the session's login role fill and read them.
CREATE OR REPLACE FUNCTION ledger_bulk_stage_create(p_entry_columns text[], p_line_columns text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  DROP TABLE IF EXISTS pg_temp.ledger_bulk_entries, pg_temp.ledger_bulk_lines;
  EXECUTE format('CREATE TEMP TABLE ledger_bulk_entries ON COMMIT DROP AS SELECT %s FROM public.ledger_journalentry WITH NO DATA',
                 (SELECT string_agg(quote_ident(c), ', ') FROM unnest(p_entry_columns) AS c));
  EXECUTE format('CREATE TEMP TABLE ledger_bulk_lines ON COMMIT DROP AS SELECT %s FROM public.ledger_journalline WITH NO DATA',
                 (SELECT string_agg(quote_ident(c), ', ') FROM unnest(p_line_columns) AS c));
  EXECUTE format('GRANT SELECT, INSERT ON pg_temp.ledger_bulk_entries, pg_temp.ledger_bulk_lines TO %I', session_user);
END $$;

CREATE OR REPLACE FUNCTION ledger_bulk_stage_drop() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  DROP TABLE IF EXISTS pg_temp.ledger_bulk_entries, pg_temp.ledger_bulk_lines;
END $$;
