"""Import reads: batches, and the drill-down from a trial-balance figure to its source rows."""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from ledger.imports.models import ImportBatch
from ledger.models import JournalLine


@dataclass(frozen=True)
class SourceLine:
    """One posted line and the file row it came from."""

    entry_id: int
    line_no: int
    amount: Decimal
    currency: str
    functional_amount: Decimal
    memo: str
    import_batch_id: int | None
    file_name: str
    sha256: str
    source_row: int | None
    source_cells: list[str]


def import_batch_list(*, entity_ids) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(entity_id__in=entity_ids).select_related("entity", "period", "source_system")


def tb_line_source_rows(*, entity_id: int, period_id: int, account_id: int, currency: str | None = None,
                        limit: int = 1000, after_id: int = 0) -> list[SourceLine]:
    """The lines behind one trial-balance line (entity, period, account[, currency]), each with
    its batch and source file row. Keyset-paginated by line id (``after_id``) for big accounts."""
    qs = (JournalLine.objects.filter(entity_id=entity_id, period_id=period_id, account_id=account_id,
                                     entry__status="posted", id__gt=after_id)
          .order_by("id").values_list("id", "entry_id", "line_no", "amount", "currency", "functional_amount", "memo",
                                      "import_batch_id", "source_row", "source_raw"))
    if currency:
        qs = qs.filter(currency=currency)
    rows = list(qs[:limit])
    batches = {b["id"]: b for b in ImportBatch.objects.filter(
        id__in={r[7] for r in rows if r[7] is not None}).values("id", "file_name", "sha256")}
    out = []
    for _id, entry_id, line_no, amount, cur, functional, memo, batch_id, row, raw in rows:
        batch = batches.get(batch_id, {})
        out.append(SourceLine(entry_id=entry_id, line_no=line_no, amount=amount, currency=cur,
                              functional_amount=functional, memo=memo, import_batch_id=batch_id,
                              file_name=batch.get("file_name", ""), sha256=batch.get("sha256", ""),
                              source_row=row, source_cells=json.loads(raw) if raw else []))
    return out
