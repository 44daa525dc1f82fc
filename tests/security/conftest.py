"""Shared fixtures of the security suite: the matrix world, built once per module."""
from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from sheshi.db.context import ALL_ORGS, set_context
from tests.security.world import ANONYMOUS, CALLERS, build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        # A test's wrapper, as TestCase's own: the services that own their transaction
        # (durable) run inside it as savepoints instead of refusing.
        atomic._from_testcase = True
        atomic.__enter__()
        try:
            set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_id": "", "sheshi.actor_label": "system:tests"})
            built = build_world()
            clients = {}
            for caller in CALLERS:
                clients[caller] = Client()
                if caller != ANONYMOUS:
                    clients[caller].force_login(built.users[caller])
            built.clients = clients
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
