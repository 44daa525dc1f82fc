"""The tenant scope and actor survive a reconnect, and are restored when a context ends."""
import pytest
from django.db import connection

from sheshi.db.context import current_context, db_context, system_context

pytestmark = pytest.mark.django_db(transaction=True)


def test_context_is_reapplied_after_the_connection_is_recreated():
    with system_context("reconnect-test"):
        connection.close()  # what CONN_MAX_AGE expiry or django-q2's close_old_connections does
        ctx = current_context()
        assert ctx["sheshi.org_ids"] == "*" and ctx["sheshi.actor_label"] == "system:reconnect-test"
    assert current_context()["sheshi.actor_label"] != "system:reconnect-test"


def test_nested_contexts_restore_the_outer_scope():
    with db_context(org_ids=[1, 2], actor_label="user:a"):
        with db_context(org_ids=[3]):
            assert current_context()["sheshi.org_ids"] == "3"
        assert current_context()["sheshi.org_ids"] == "1,2"
        connection.close()
        assert current_context()["sheshi.org_ids"] == "1,2"
