"""report_snapshot without a replica (the default profile): one pinned, read-only, REPEATABLE READ
transaction on the primary, or the caller's own transaction; the streaming-replica case is in
tests/cloud/test_replica.py."""
from __future__ import annotations

import pytest
from django.db import connection, transaction

from sheshi.db import replica

pytestmark = pytest.mark.django_db(transaction=True)


def _isolation() -> tuple[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')")
        return cur.fetchone()


def test_a_report_snapshot_pins_one_read_only_repeatable_read_transaction_and_releases_it():
    before = dict(replica.ROUTES)
    with replica.report_snapshot() as alias:
        assert (alias, replica.read_alias(), replica.report_alias()) == ("default", "default", "default")
        assert _isolation() == ("repeatable read", "on")
        with replica.report_snapshot() as inner:  # nested: the same snapshot
            assert inner == "default" and connection.in_atomic_block
    assert not connection.in_atomic_block and replica.read_alias() == "default"
    assert dict(replica.ROUTES) == before


def test_a_report_snapshot_inside_a_callers_transaction_reads_in_that_transaction():
    with transaction.atomic():
        default_level = _isolation()
        with replica.report_snapshot() as alias:
            assert alias == "default" and _isolation() == default_level
