"""An entry's lines written in one INSERT … VALUES, without the ORM's bulk_create machinery.

For the handful of lines of an entry written through the API, ``bulk_create`` was about a tenth
of a single posting's Python (bench.ledger.api): compiling the INSERT, then adapting each column
as an array for UNNEST. The statement here is built once per number of lines and takes the
values as they are; the database sees the same columns and values, so every trigger and
constraint on ledger_journalline applies as before, and each line gets its id back in order.
Large sets (imports, long entries) still go through ``bulk_create``, which batches them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache

from django.db import connection

from ledger.models import JournalLine
from sheshi.db.compiled import execute_prepared

_COLUMNS = ("organisation_id", "entity_id", "period_id", "entry_id", "line_no", "account_id", "currency", "amount",
            "rate", "functional_amount", "counterparty_id", "dimensions", "memo", "import_batch_id", "source_row",
            "source_raw")
_ROW = "(" + ", ".join("%s::jsonb" if c == "dimensions" else "%s" for c in _COLUMNS) + ")"
# The parameters' types, for the statement prepared once per connection and number of lines
# (sheshi/db/compiled.py): the columns' own types, the JSON as text (cast in the statement).
_TYPES = ("bigint", "bigint", "bigint", "bigint", "integer", "bigint", "text", "numeric", "numeric", "numeric",
          "bigint", "text", "text", "bigint", "integer", "text")
FEW_LINES = 50  # up to this many, one hand-built INSERT; more: bulk_create


@cache
def _insert_sql(n: int) -> str:
    # Constant column names and placeholders only; every value is a parameter.
    return (f"INSERT INTO ledger_journalline ({', '.join(_COLUMNS)}) VALUES "  # nosec B608
            + ", ".join([_ROW] * n) + " RETURNING id")


def journal_lines_insert(lines: Sequence[JournalLine]) -> None:
    """Insert ``lines`` (unsaved, entry and period set) and mark them saved with their ids."""
    if len(lines) > FEW_LINES:
        JournalLine.objects.bulk_create(lines)
        return
    params: list = []
    for ln in lines:
        params += (ln.organisation_id, ln.entity_id, ln.period_id, ln.entry_id, ln.line_no, ln.account_id,
                   ln.currency, ln.amount, ln.rate, ln.functional_amount, ln.counterparty_id,
                   json.dumps(ln.dimensions), ln.memo, ln.import_batch_id, ln.source_row, ln.source_raw)
    with connection.cursor() as cur:
        execute_prepared(cur, ("journal_lines_insert", len(lines)), _insert_sql(len(lines)), params,
                         types=_TYPES * len(lines))
        ids = [row[0] for row in cur.fetchall()]
    for ln, pk in zip(lines, ids, strict=True):
        ln.pk = pk
        ln._state.adding = False
        ln._state.db = connection.alias
