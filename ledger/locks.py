"""Named row locks of the ledger, always taken in the same order: period (periods/locks.py) → entry →
balances. Each helper locks only its own table's rows (``of=("self",)``) in the weakest mode that
keeps its rule: FOR NO KEY UPDATE for a row that changes but keeps its key, so the FOR KEY SHARE
every posting takes on the rows it references (accounts, entries) goes on meanwhile."""
from __future__ import annotations

from django.db import connection

from ledger.models import Account, JournalEntry, JournalRecurrence
from periods.models import Period
from sheshi.db.compiled import execute_prepared

# The period's columns named, not p.*: the statement is prepared once per connection, and a
# prepared p.* fails ("cached plan must not change result type") once a migration adds a column
# to the period table while the workers run (tests/ledger/test_prepared_period_lock.py).
_PERIOD_COLUMNS = ", ".join(f'p."{f.column}"' for f in Period._meta.concrete_fields)
_ENTRY_PERIOD_SHARE_SQL = """
    SELECT {columns}, ep.state AS entity_state,
           nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) AS new_entry_id
      FROM periods_period p
      JOIN periods_entityperiod ep ON ep.period_id = p.id AND ep.entity_id = %s
     WHERE p.organisation_id = %s AND {which}
     ORDER BY p.start_date, p.number LIMIT 1
       FOR SHARE OF ep"""


def journal_entries_for_update():
    """FOR NO KEY UPDATE: a workflow step changes the entry's status, never its key; lines that
    reference the entry (FOR KEY SHARE) are not held up."""
    return JournalEntry.objects.select_for_update(no_key=True, of=("self",))


def accounts_for_update():
    """FOR NO KEY UPDATE: moving an account changes its parent, not its key; postings go on
    referencing it (FOR KEY SHARE) while the move waits for another move of the same account."""
    return Account.objects.select_for_update(no_key=True, of=("self",))


def journal_recurrences_for_update():
    """FOR NO KEY UPDATE: an edit or a stop of a recurrence changes its schedule, never its key;
    it waits for a run drafting from it (journal_recurrence_share_lock) and the run after it sees
    the new schedule."""
    return JournalRecurrence.objects.select_for_update(no_key=True, of=("self",))


def journal_recurrence_share_lock(recurrence_id: int) -> JournalRecurrence | None:
    """FOR SHARE on a recurrence while a run drafts from it: concurrent runs go side by side, an
    edit or stop (FOR NO KEY UPDATE) waits for the draft's commit. The row as it is now."""
    rows = list(JournalRecurrence.objects.raw(
        "SELECT * FROM ledger_journalrecurrence WHERE id = %s FOR SHARE", [recurrence_id]))
    return rows[0] if rows else None


def entry_period_share_lock(*, entity_id: int, organisation_id: int, period_id: int | None,
                            entry_date) -> Period | None:
    """FOR SHARE on the entity-period of a new entry (its period by id, else the regular period
    holding ``entry_date``): postings run side by side while a period lock (FOR NO KEY UPDATE)
    waits for them. Returns the period with ``entity_state`` (the entity's state in it) and
    ``new_entry_id`` (a reserved id) in one round trip; None when the entity has no row there."""
    if period_id is not None:
        which, params = "p.id = %s", [period_id]
    else:
        which, params = "p.start_date <= %s AND p.end_date >= %s AND p.number <= 12", [entry_date] * 2
    # one of the two constant conditions above, and the model's own column names
    sql = _ENTRY_PERIOD_SHARE_SQL.replace("{which}", which).replace("{columns}", _PERIOD_COLUMNS)
    with connection.cursor() as cur:
        # Prepared once per connection (sheshi/db/compiled.py): every single posting starts here.
        execute_prepared(cur, ("entry_period_share_lock", period_id is not None), sql,
                         [entity_id, organisation_id, *params])
        row = cur.fetchone()
    if row is None:
        return None
    fields = [f.attname for f in Period._meta.concrete_fields]  # in the order the columns are selected
    period = Period.from_db(connection.alias, fields, row[:len(fields)])
    period.entity_state, period.new_entry_id = row[len(fields):]
    return period


def bulk_entity_periods_share_lock(cursor, *, entity_id: int) -> None:
    """FOR SHARE on the entity-periods a staged bulk batch posts into (``ledger_bulk_entries``), in
    id order, on the batch's raw cursor: the posting trigger takes the same locks; taking them
    first stamps posted_at after any wait for a period lock to end."""
    cursor.execute("""SELECT 1 FROM periods_entityperiod
                       WHERE entity_id = %s AND period_id IN (SELECT period_id FROM ledger_bulk_entries)
                       ORDER BY id FOR SHARE""", [entity_id])
