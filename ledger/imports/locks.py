"""Named row locks of the import batches."""
from __future__ import annotations

from ledger.imports.models import ImportBatch


def import_batches_for_update():
    """FOR NO KEY UPDATE on the batch rows only. Only the batch's status and figures change, never
    its key; and not the entity and period rows a select_related joins, whose FOR UPDATE would
    wait for, and hold up, every posting of the entity (each takes FOR KEY SHARE on them)."""
    return ImportBatch.objects.select_for_update(no_key=True, of=("self",))
