"""GET /api/v1/audit/events/: the organisation's trail for auditors, filtered by object and time,
cursor-paginated; an auditor of some entities gets the others' events withheld."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.inputs import EntryInput, LineInput
from ledger.services.entries import journal_entry_create
from tests.factories import EntityFactory, user_with_role
from tests.ledger.helpers import build_chart

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/events/"


@pytest.fixture
def entities():
    from periods.services.transitions import fiscal_year_generate

    own = EntityFactory(code="AUD1")
    other = EntityFactory(code="AUD2", organisation=own.organisation)
    chart = build_chart(own.organisation)
    fiscal_year_generate(organisation=own.organisation, year=2026)
    entries = {}
    for entity in (own, other):
        entries[entity.code] = journal_entry_create(actor=None, entity=entity, entry=EntryInput(
            entry_date=date(2026, 3, 10), description=f"audited {entity.code}", lines=[
                LineInput(account_id=chart["1200"].pk, amount=Decimal("5.0000")),
                LineInput(account_id=chart["4100"].pk, amount=Decimal("-5.0000"))])).entry.pk
    return own, other, entries


def events(client, org, **params):
    resp = client.get(URL, {"organisation": org.code, **params})
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_an_auditor_of_every_entity_sees_every_event_in_full(client, entities):
    from sheshi.access.services.grants import role_grant

    own, other, entries = entities
    auditor = user_with_role(own, "auditor")
    role_grant(actor=None, user=auditor, entity=other, role="auditor")
    client.force_login(auditor)
    body = events(client, own.organisation, object_type="ledger.journalentry", object_id=entries["AUD2"])
    assert [(e["action"], e["content_withheld"]) for e in body["results"]] == [("insert", False)]
    assert body["results"][0]["changes"]["after"]["description"] == "audited AUD2"


def test_an_auditor_of_one_entity_gets_the_others_withheld(client, entities):
    own, _, entries = entities
    client.force_login(user_with_role(own, "auditor"))
    mine = events(client, own.organisation, object_type="ledger.journalentry", object_id=entries["AUD1"])["results"]
    theirs = events(client, own.organisation, object_type="ledger.journalentry", object_id=entries["AUD2"])["results"]
    assert mine[0]["content_withheld"] is False and mine[0]["changes"]["after"]["description"] == "audited AUD1"
    assert theirs[0]["content_withheld"] is True
    assert (theirs[0]["changes"], theirs[0]["actor_label"], theirs[0]["action"]) == (None, None, "insert")


def test_time_filters_and_cursor_pages(client, entities):
    own, _, _ = entities
    client.force_login(user_with_role(own, "auditor"))
    assert events(client, own.organisation, until="2000-01-01T00:00:00Z")["results"] == []
    first = events(client, own.organisation, page_size=2, since="2000-01-01T00:00:00Z")
    assert len(first["results"]) == 2 and first["next"] and "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert second["results"] and second["results"][0]["id"] < first["results"][-1]["id"]
    bad = client.get(URL, {"organisation_id": own.organisation.pk, "since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "since"


def test_reading_the_trail_is_itself_recorded(client, entities):
    from audit.models import AuditEvent

    own, _, _ = entities
    auditor = user_with_role(own, "auditor")
    client.force_login(auditor)
    events(client, own.organisation)
    assert AuditEvent.objects.filter(organisation_id=own.organisation_id, action="audit.read",
                                     actor_id=auditor.pk).count() == 1


def test_non_auditors_are_403_and_other_organisations_404(client, entities):
    own, _, _ = entities
    client.force_login(user_with_role(own, "controller"))
    resp = client.get(URL, {"organisation_id": own.organisation.pk})
    assert resp.status_code == 403 and resp["Content-Type"] == "application/problem+json"
    stranger = EntityFactory(code="ELSE")
    client.force_login(user_with_role(stranger, "auditor"))
    assert client.get(URL, {"organisation_id": own.organisation.pk}).status_code == 404
    assert client.get(URL).status_code == 400
