"""Versions of journal entries for optimistic concurrency (HTTP ETag / If-Match).

An entry has no version counter; its ETag is a hash of everything an edit can change (header,
status, every line). It is computed the same way from a prefetched entry (the API's GET) and
from the row the update service holds locked, so the comparison happens under the lock."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from ledger.models import JournalEntry, JournalRecurrence


def _num(value: Decimal | None) -> str | None:
    # Normalised: 1.00000000 and 1 are the same rate whichever path read it.
    return None if value is None else format(value.normalize(), "f")


def journal_entry_etag(entry: JournalEntry) -> str:
    """The entry's strong entity tag, quoted as HTTP sends it."""
    lines = sorted(entry.lines.all(), key=lambda ln: ln.line_no)
    state = {
        "id": entry.pk, "status": entry.status, "entry_date": entry.entry_date.isoformat(),
        "period": entry.period_id, "description": entry.description, "reference": entry.reference,
        "reverse_on": entry.reverse_on.isoformat() if entry.reverse_on else None,
        "lines": [[ln.line_no, ln.account_id, ln.currency, _num(ln.amount), _num(ln.rate),
                   _num(ln.functional_amount), ln.counterparty_id, ln.dimensions or {}, ln.memo] for ln in lines],
    }
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def journal_recurrence_etag(recurrence: JournalRecurrence) -> str:
    """A recurrence's strong entity tag: every field an edit or a stop changes."""
    state = [recurrence.pk, recurrence.day_of_month, recurrence.start_period_id, recurrence.end_period_id,
             recurrence.is_active, recurrence.template_id, recurrence.owner_id,
             recurrence.stopped_at.isoformat() if recurrence.stopped_at else None]
    digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()
    return f'"{digest[:32]}"'


def if_match_tags(header: str | None) -> list[str]:
    """The entity tags of an If-Match header (weak tags never match a strong comparison)."""
    return [tag.strip() for tag in (header or "").split(",") if tag.strip() and not tag.strip().startswith("W/")]
