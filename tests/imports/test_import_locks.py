"""An import locks its batch row and nothing else: a posting of the same entity in flight (it holds
FOR KEY SHARE on the entity and its period, as every line and entry referencing them does) does
not hold up the start of an import, and the import does not hold up the posting. Before the
batch was locked with ``select_related("entity", "period")`` and no ``of=``, which took FOR UPDATE
on the entity and period rows too."""
import io
import threading
from datetime import date

import pytest
from django.db import connection, transaction
from psycopg.types.range import Range

from ledger.imports.models import ImportStatus
from ledger.imports.services import import_batch_create, import_batch_run
from ledger.models import JournalEntry, LocalAccountMapping
from ledger.services.entries import journal_entry_create_and_post
from sheshi.db.context import ALL_ORGS, set_context
from tests.ledger.helpers import build_world

from .helpers import FILES, TB

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL = {"1000": "1100", "1200": "1200", "2000": "2100", "4000": "4100"}


def test_an_import_runs_while_a_posting_of_the_same_entity_is_uncommitted():
    world = build_world("IMPLOCK")
    for local, group in LOCAL.items():
        LocalAccountMapping.objects.create(organisation=world.org, entity=world.entity, local_code=local,
                                           account=world.accounts[group], valid=Range(date(2020, 1, 1), None))
    batch = import_batch_create(actor=None, entity=world.entity, period=world.period("2026-01"),
                                stream=io.BytesIO((FILES / "tb_utf8.csv").read_bytes()), filename="tb_utf8.csv",
                                mapping=TB)
    posting, release, errors = threading.Event(), threading.Event(), []

    def post_and_hold() -> None:  # a March posting of the entity, held open until the import is done
        try:
            set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_label": "system:holder"})
            with transaction.atomic():
                journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("10"))
                posting.set()
                release.wait(30)
        except BaseException as exc:  # asserted below
            errors.append(exc)
            posting.set()
        finally:
            connection.close()

    holder = threading.Thread(target=post_and_hold)
    holder.start()
    try:
        assert posting.wait(30)
        with connection.cursor() as cur:  # a wait on the holder's row locks fails fast instead of hanging
            cur.execute("SET lock_timeout = '3s'")
        batch = import_batch_run(actor=None, batch_id=batch.pk)
    finally:
        release.set()
        holder.join(60)
        with connection.cursor() as cur:
            cur.execute("RESET lock_timeout")
    assert errors == []
    assert (batch.status, batch.entry_count, batch.line_count) == (ImportStatus.POSTED, 1, 4)
    assert sorted(JournalEntry.objects.filter(entity=world.entity).values_list("period__code", "status")) == [
        ("2026-01", "posted"), ("2026-03", "posted")]
