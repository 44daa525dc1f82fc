"""The journal entry's history row goes through a static path of ``sheshi_history_append``
(sheshi/tenancy/sql/0009_hot_entry_points.sql): plans kept for the session instead of catalogue
look-ups and dynamic SQL at every posting. It writes the row it is sent, refuses what the generic
path refuses, and follows a column added to the history table while connections hold its plan."""
from __future__ import annotations

import json

import pytest
from django.utils import timezone

from ledger.models import JournalEntry
from ledger.services import entries as services
from sheshi.access.roles import Role
from sheshi.db.context import set_context
from tests.conftest import requires_role_split
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.rules import raw, refused

pytestmark = [pytest.mark.django_db(transaction=True), requires_role_split]

APPEND = "SELECT sheshi_history_append(%s, %s::jsonb)"


def _act_as(user, org) -> None:
    set_context({"sheshi.actor_id": str(user.pk), "sheshi.actor_label": f"user:{user.username}",
                 "sheshi.org_ids": str(org.pk)})


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _row(entry: JournalEntry, user_id: int, when: str, **changes) -> dict:
    """A history row of ``entry`` as sheshi/history.py sends it: every column but history_id."""
    columns = [f.column for f in JournalEntry.history.model._meta.concrete_fields if not f.primary_key]
    stored = _json(raw("SELECT to_jsonb(e) FROM ledger_journalentry e WHERE id = %s", [entry.pk])[0][0])
    values = {c: stored[c] for c in columns if c in stored}
    values.update(history_date=when, history_type="~", history_user_id=user_id, history_change_reason="edit",
                  request_id="req-1", **changes)
    return values


def _stored_history(history_id: int) -> dict:
    return _json(raw("SELECT to_jsonb(h) - 'history_id' FROM ledger_historicaljournalentry h "
                     "WHERE history_id = %s", [history_id])[0][0])


def test_the_entry_history_row_is_the_row_sent_and_forged_rows_are_refused():
    world = build_world("HSTAT")
    elsewhere = build_world("HOTHER")
    preparer = user_with_role(world.entity, Role.PREPARER)
    victim = user_with_role(world.entity, Role.CONTROLLER)
    entry = services.journal_entry_create(actor=None, entity=world.entity, entry=world.sale("7")).entry
    _act_as(preparer, world.org)
    now = timezone.now().isoformat()
    refused("sheshi_history_row_forged", APPEND, ["ledger_historicaljournalentry", json.dumps(
        [_row(entry, preparer.pk, "2026-01-15T10:00:00+00:00")])])  # back-dated
    refused("sheshi_history_row_forged", APPEND, ["ledger_historicaljournalentry", json.dumps(
        [_row(entry, victim.pk, now)])])  # another user
    refused("sheshi_history_row_forged", APPEND, ["ledger_historicaljournalentry", json.dumps(
        [_row(entry, preparer.pk, now, organisation_id=elsewhere.org.pk)])])  # another organisation
    sent = [_row(entry, preparer.pk, now), _row(entry, preparer.pk, now, description="second")]
    ids = [i for (i,) in raw(APPEND, ["ledger_historicaljournalentry", json.dumps(sent)])]
    assert len(ids) == 2 and ids[0] < ids[1]  # in the order sent, from the table's sequence
    for history_id, row in zip(ids, sent, strict=True):
        stored = _stored_history(history_id)
        assert stored.keys() == row.keys()
        # Same values (timestamps compared as instants: jsonb renders them in its own format).
        same = raw("SELECT jsonb_populate_record(NULL::ledger_historicaljournalentry, %s::jsonb) "
                   "IS NOT DISTINCT FROM jsonb_populate_record(NULL::ledger_historicaljournalentry, %s::jsonb)",
                   [json.dumps(stored), json.dumps(row)])
        assert same == [(True,)]


def test_the_static_path_follows_a_column_added_to_the_history_table(owner_sql):
    world = build_world("HCOL")
    preparer = user_with_role(world.entity, Role.PREPARER)
    first = services.journal_entry_create(actor=None, entity=world.entity, entry=world.sale("1")).entry
    _act_as(preparer, world.org)
    now = timezone.now().isoformat()
    raw(APPEND, ["ledger_historicaljournalentry", json.dumps([_row(first, preparer.pk, now)])])  # plan kept
    owner_sql.execute("ALTER TABLE ledger_historicaljournalentry ADD COLUMN sheshi_probe integer")
    try:
        row = _row(first, preparer.pk, timezone.now().isoformat(), sheshi_probe=42)
        (history_id,), = raw(APPEND, ["ledger_historicaljournalentry", json.dumps([row])])
        assert _stored_history(history_id)["sheshi_probe"] == 42
    finally:
        owner_sql.execute("ALTER TABLE ledger_historicaljournalentry DROP COLUMN sheshi_probe")
    (history_id,), = raw(APPEND, ["ledger_historicaljournalentry",
                                  json.dumps([_row(first, preparer.pk, timezone.now().isoformat())])])
    assert "sheshi_probe" not in _stored_history(history_id)
