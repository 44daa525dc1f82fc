"""audit_record(), the owner's function every application event goes through, attacked with raw
SQL as the application's role: it refuses an event outside the session's organisations or without
an action and object type, and the trail is unchanged."""
from __future__ import annotations

import pytest

from sheshi.db.context import db_context
from tests.factories import EntityFactory
from tests.rules import raw, refused

pytestmark = pytest.mark.django_db

RECORD = "SELECT audit_record(%s, %s, %s, %s, NULL)"


def trail() -> list[tuple]:
    """The trail as the all-organisations scope sees it: its events and their chain links."""
    return raw("SELECT (SELECT count(*) FROM audit_event), (SELECT max(id) FROM audit_event),"
               " (SELECT count(*) FROM audit_chain)")


def test_an_event_for_an_organisation_outside_the_session_scope_is_refused():
    mine, other = EntityFactory(), EntityFactory()
    before = trail()
    with db_context(org_ids=[mine.organisation_id]):
        msg = refused("audit_event_out_of_scope", RECORD, [other.organisation_id, "report.read", "ledger.report", "1"])
        assert msg == f"organisation {other.organisation_id} is not in this session's scope"
        refused("audit_event_out_of_scope", RECORD, [None, "report.read", "ledger.report", "1"])
    assert trail() == before
    with db_context(org_ids=[mine.organisation_id]):
        raw(RECORD, [mine.organisation_id, "report.read", "ledger.report", "1"])  # its own organisation: recorded
    assert trail()[0][0] == before[0][0] + 1


def test_an_event_without_an_action_or_an_object_type_is_refused():
    org = EntityFactory().organisation_id
    before = trail()
    for action, object_type in (("", "ledger.report"), (None, "ledger.report"), ("report.read", ""),
                                ("report.read", None)):
        msg = refused("audit_event_incomplete", RECORD, [org, action, object_type, "1"])
        assert msg == "an audit event needs an action and an object type"
    assert trail() == before
