-- 0020: the user who posts an entry is not the one who prepared it, when the organisation's
-- policy says so (tenancy_organisation.poster_not_preparer, on by default; issue #15 item 4).
-- A separate row trigger on the workflow's move into 'posted' (an UPDATE of status), so the
-- posting function of 0016 stays as it is. The poster is the acting user (sheshi.actor_id) and
-- the poster recorded on the row: neither may be the preparer. System postings (no acting user,
-- no recorded poster) and system sources (closing, elimination, revaluation, translation) are
-- excepted. An entry written already posted (one-step posting of a source that needs no
-- approval, bulk and imports) is one act, governed by the entity's approval_required_sources.
CREATE OR REPLACE FUNCTION ledger_entry_poster_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  v_actor bigint := nullif(coalesce(current_setting('sheshi.actor_id', true), ''), '')::bigint;
BEGIN
  IF NEW.created_by_id IS NULL OR NEW.source IN ('closing', 'elimination', 'revaluation', 'translation')
     OR (NEW.created_by_id IS DISTINCT FROM v_actor AND NEW.created_by_id IS DISTINCT FROM NEW.posted_by_id) THEN
    RETURN NEW;
  END IF;
  IF coalesce((SELECT o.poster_not_preparer FROM public.tenancy_organisation o WHERE o.id = NEW.organisation_id),
              true) THEN
    RAISE EXCEPTION 'journal entry % was prepared by user %, who may not post it: someone else must',
      NEW.id, NEW.created_by_id
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'ledger_poster_is_preparer';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_entry_poster_guard BEFORE UPDATE OF status ON ledger_journalentry
  FOR EACH ROW WHEN (NEW.status = 'posted' AND OLD.status IS DISTINCT FROM 'posted')
  EXECUTE FUNCTION ledger_entry_poster_guard();
