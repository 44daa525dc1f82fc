"""Test set-up shared by every suite.

The test database is created and migrated as the schema owner, exactly as `migrate` does in
production; the tests themselves then run as the application's role, so every database rule
(triggers, row-level security, missing privileges) applies to them as it does to the app.
"""
from __future__ import annotations

import contextlib
import os
import shutil

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from audit.anchor.store import anchor_location
from sheshi.db.context import ALL_ORGS, set_context
from sheshi.db.roles import restore_credentials, use_owner_credentials


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        previous = use_owner_credentials("default")
        config = setup_databases(verbosity=0, interactive=False, keepdb=False)
        restore_credentials(previous, "default")
    yield
    with django_db_blocker.unblock():
        previous = use_owner_credentials("default")
        try:
            teardown_databases(config, verbosity=0)
        finally:
            restore_credentials(previous, "default")


def _conninfo(role_settings: dict) -> str:
    name = connection.settings_dict["NAME"]
    parts = {"dbname": name, "user": role_settings.get("USER"), "host": role_settings.get("HOST"),
             "port": role_settings.get("PORT")}
    if role_settings.get("PASSWORD"):
        parts["password"] = role_settings["PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


@pytest.fixture
def owner_sql(django_db_blocker):
    """A raw psycopg connection to the test database as the schema owner (autocommit)."""
    with django_db_blocker.unblock():
        conn = psycopg.connect(_conninfo(settings.OWNER_DATABASE), autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def app_sql(django_db_blocker):
    """A raw psycopg connection as the web application's role: what a buggy caller or a raw SQL
    session with the app's credentials could do (not the jobs role the suite itself runs as)."""
    with django_db_blocker.unblock():
        conn = psycopg.connect(_conninfo(web_database()), autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def jobs_sql(django_db_blocker):
    """A raw psycopg connection as the role the suite runs as: the jobs role where the role split
    is configured (the app role's rights plus the system's scope and actor; SECURITY.md)."""
    with django_db_blocker.unblock():
        conn = psycopg.connect(_conninfo(connections["default"].settings_dict), autocommit=True)
    yield conn
    conn.close()


def web_database() -> dict:
    """The web role's connection settings, on the test database."""
    return {**getattr(settings, "WEB_DATABASE", connections["default"].settings_dict),
            "NAME": connections["default"].settings_dict["NAME"]}


def role_split_configured() -> bool:
    owner = settings.OWNER_DATABASE.get("USER")
    return bool(settings.SHESHI_APP_DB_ROLE) and owner != connections["default"].settings_dict.get("USER")


requires_role_split = pytest.mark.skipif(
    not os.environ.get("DATABASE_OWNER_URL"),
    reason="needs separate owner and app roles (the private cluster sets them up)",
)


@pytest.fixture(autouse=True)
def _system_db_context(request):
    """Tests act as a system actor in the all-organisations scope unless they narrow it.

    Applies only to tests that use the database; requests made through the test client set their
    own user's scope and restore this one afterwards."""
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"} \
            and request.node.get_closest_marker("django_db") is None:
        yield
        return
    # Enable database access before setting the context, whichever fixture the test asked for (an
    # autouse fixture may run before the test's own transactional_db is set up).
    request.getfixturevalue("transactional_db" if "transactional_db" in names else "db")
    set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_id": "", "sheshi.actor_label": "system:tests"})
    yield
    with contextlib.suppress(Exception):
        set_context({"sheshi.org_ids": "", "sheshi.actor_id": "", "sheshi.actor_label": ""})


@pytest.fixture(autouse=True)
def _anchor_store_per_test(tmp_path_factory):
    """Each test gets its own, empty audit anchor store, as it gets a clean database: an anchor
    left by another test would name organisations and counts this test's database never had."""
    # Set directly, not with override_settings: that would hide settings.SETTINGS_MODULE, which
    # tests starting a manage.py subprocess pass on.
    previous = settings.SHESHI_AUDIT_ANCHOR_DIR, settings.SHESHI_AUDIT_ANCHOR_PER_DATABASE
    settings.SHESHI_AUDIT_ANCHOR_DIR = str(tmp_path_factory.mktemp("audit-anchors"))
    settings.SHESHI_AUDIT_ANCHOR_PER_DATABASE = False  # the folder is this test's alone already
    try:
        yield
    finally:
        settings.SHESHI_AUDIT_ANCHOR_DIR, settings.SHESHI_AUDIT_ANCHOR_PER_DATABASE = previous


# Tables whose rows come from migrations, not tests: kept when a transactional test cleans up.
KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def _owner_flush(self) -> None:
    """Replacement for TransactionTestCase's flush: the app role may not TRUNCATE (by design),
    and append-only tables refuse TRUNCATE even for the owner unless their user triggers are
    disabled, which only the owner can do. So clean up as the owner, triggers off for the
    duration, in one transaction."""
    previous = use_owner_credentials("default")
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT (tablename = ANY(%s))",
                        [sorted(KEEP_TABLES)])
            tables = [r[0] for r in cur.fetchall()]
            cur.execute("""SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'public' AND NOT t.tgisinternal""")
            triggered = [r[0] for r in cur.fetchall()]
            with connection.cursor() as c2:
                c2.execute("BEGIN")
                for t in triggered:
                    c2.execute(f'ALTER TABLE "{t}" DISABLE TRIGGER USER')
                if tables:
                    c2.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
                for t in triggered:
                    c2.execute(f'ALTER TABLE "{t}" ENABLE TRIGGER USER')
                c2.execute("COMMIT")
        # The audit anchors of the wiped data bind nothing any more: the next world starts afresh.
        shutil.rmtree(anchor_location(), ignore_errors=True)
    finally:
        restore_credentials(previous, "default")


def pytest_configure(config):
    from django.test import TransactionTestCase

    TransactionTestCase._fixture_teardown = _owner_flush
