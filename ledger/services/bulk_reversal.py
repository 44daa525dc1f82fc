"""Reversing many posted entries of one entity at once, set-based.

What journal_entry_reverse_posted does one entry at a time - a posted entry of source 'reversal'
pointing to the original, every line negated - for a caller that replaces a whole set of system
entries (a consolidation re-run reverses its previous run's hundreds of journals: one at a time,
that was most of the run). Two INSERT ... SELECT statements write the reversals' lines and then
their headers, so the posting trigger checks the batch once and updates the balances, as on the
bulk posting path (ledger/services/bulk.py).
"""
from __future__ import annotations

from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from ledger import locks
from ledger.errors import AlreadyReversedError, EntryNotInStateError
from ledger.models import EntrySource, EntryStatus, JournalEntry
from ledger.services.bulk import reserve_ids
from periods import locks as period_locks
from sheshi.access.checks import require_entity_perm
from sheshi.access.roles import PREPARE
from sheshi.errors import FieldError, NotFound, ValidationFailed
from sheshi.tenancy.models import Entity


@transaction.atomic
def journal_entries_reverse_posted_bulk(*, actor, entity: Entity, entry_ids: list[int], entry_date: date,
                                        period_id: int, descriptions: list[str]) -> list[int]:
    """Reverse posted entries of ``entity``, each reversal posted at once, dated ``entry_date`` in
    ``period_id``, described by ``descriptions`` (one per entry). Returns the reversals' ids in the
    order of ``entry_ids`` (ascending ids when ``entry_ids`` ascend). All or nothing."""
    if len(descriptions) != len(entry_ids):
        raise ValueError("One description per entry.")
    if not entry_ids:
        return []
    require_entity_perm(actor, PREPARE, entity)
    period_locks.entity_period_share_lock(entity_id=entity.pk, period_id=period_id)  # lock order: period, entries
    originals = {pk: (entity_id, status, on) for pk, entity_id, status, on in
                 locks.journal_entries_for_update().filter(pk__in=entry_ids).order_by("pk")
                 .values_list("pk", "entity_id", "status", "entry_date")}
    for pk in entry_ids:
        if pk not in originals or originals[pk][0] != entity.pk:
            raise NotFound(f"Journal entry {pk} not found.")
        status = originals[pk][1]
        if status != EntryStatus.POSTED:
            raise EntryNotInStateError(f"Entry {pk} is {status}; expected {EntryStatus.POSTED}.",
                                       entry_id=pk, entry_status=status, allowed=(EntryStatus.POSTED,))
        if entry_date < originals[pk][2]:
            raise ValidationFailed("A reversal cannot be dated before the entry it reverses.", errors=[FieldError(
                "entry_date", f"On or after {originals[pk][2]}.", code="reversal_before_original", value=entry_date)])
    existing = JournalEntry.objects.filter(reverses_id__in=entry_ids).values_list("reverses_id", "pk", "status").first()
    if existing is not None:
        raise AlreadyReversedError(f"Entry {existing[0]} is already reversed (entry {existing[1]}, {existing[2]}).")
    actor_id = getattr(actor, "pk", None)
    now = timezone.now()
    with connection.cursor() as cur:
        reversal_ids = reserve_ids(cur, "ledger_journalentry_id_seq", len(entry_ids))
        params = {"originals": list(entry_ids), "reversals": reversal_ids, "descriptions": list(descriptions),
                  "period": period_id, "date": entry_date, "actor": actor_id, "now": now,
                  "source": EntrySource.REVERSAL, "posted": EntryStatus.POSTED}
        # The lines first (their entries do not exist yet: the lines guard waits for them, as on the bulk path).
        cur.execute("""
            INSERT INTO ledger_journalline (id, organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                currency, amount, rate, functional_amount, counterparty_id, dimensions, memo, import_batch_id,
                source_row, source_raw)
            SELECT nextval('ledger_journalline_id_seq'), l.organisation_id, l.entity_id, %(period)s, m.reversal,
                   l.line_no, l.account_id, l.currency, -l.amount, l.rate, -l.functional_amount, l.counterparty_id,
                   l.dimensions, l.memo, NULL, NULL, ''
              FROM ledger_journalline l
              JOIN unnest(%(originals)s::bigint[], %(reversals)s::bigint[], %(descriptions)s::text[])
                   AS m(original, reversal, description)
                ON m.original = l.entry_id
             ORDER BY m.reversal, l.line_no""", params)
        # One statement: the posting trigger sees every reversal at once.
        cur.execute("""
            INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description,
                reference, source, status, created_by_id, created_at, posted_by_id, posted_at, request_hash,
                reverses_id)
            SELECT m.reversal, e.organisation_id, e.entity_id, %(period)s, %(date)s, left(m.description, 500), '',
                   %(source)s, %(posted)s, %(actor)s, %(now)s, %(actor)s, %(now)s, '', e.id
              FROM ledger_journalentry e
              JOIN unnest(%(originals)s::bigint[], %(reversals)s::bigint[], %(descriptions)s::text[])
                   AS m(original, reversal, description)
                ON m.original = e.id
             ORDER BY m.reversal""", params)
        # Their history, set-based, by the owner's entry point (a copy of each reversal as posted).
        cur.execute("SELECT sheshi_history_record('ledger_historicaljournalentry', %(reversals)s::bigint[], '+', "
                    "%(actor)s, 'bulk reversal')", params)
    return reversal_ids
