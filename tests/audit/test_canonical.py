"""The Python canonical serialisation is byte-for-byte PostgreSQL's jsonb text, so the verifier
recomputes content hashes without asking the database to serialise anything."""
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.canonical import canonical_json, event_content_hash, parse_json
from audit.models import AuditEvent
from audit.services.events import audit_event_record
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_numbers = st.one_of(st.integers(min_value=-10**30, max_value=10**30),
                     *[st.decimals(allow_nan=False, allow_infinity=False, places=p, min_value=Decimal("-1e15"),
                                   max_value=Decimal("1e15")) for p in (0, 2, 4, 8, 12)])
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _text, _numbers),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_text, children, max_size=4)),
    max_leaves=12)


def _pg_text(value) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT %s::jsonb::text", [canonical_json(value)])
        return cur.fetchone()[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_json)
def test_canonical_json_matches_postgres_jsonb_text(value):
    pg = _pg_text(value)
    assert canonical_json(value) == pg
    assert canonical_json(parse_json(pg)) == pg


@pytest.mark.parametrize("value", [
    {"b": 1, "a": 2, "aa": 3, "é": 4, "z": 5}, {"amount": Decimal("1.50"), "tiny": Decimal("0.00000001")},
    ["tab\there", "quote\"back\\slash", "ctl\x01\x1f", "ünïcødé ✓", "line\nbreak\r\x08\x0c"], [], {},
    {"n": -0, "big": 123456789012345678901234567890}])
def test_canonical_json_edge_cases(value):
    assert canonical_json(value) == _pg_text(value)


def test_recorded_event_content_hash_recomputes_in_python():
    org = OrganisationFactory()
    event_id = audit_event_record(organisation_id=org.pk, action="export.created", object_type="ledger.export",
                                  object_id="x-1", changes={"rows": 3, "amount": Decimal("10.10"), "名": "✓\t"})
    event = AuditEvent.objects.get(pk=event_id)
    with connection.cursor() as cur:
        cur.execute("SELECT changes::text FROM audit_event WHERE id = %s", [event_id])
        changes = parse_json(cur.fetchone()[0])
    assert event.content_hash == event_content_hash(
        organisation_id=event.organisation_id, occurred_at=event.occurred_at, txid=event.txid,
        actor_id=event.actor_id, actor_label=event.actor_label, request_id=event.request_id,
        client_addr=event.client_addr, action=event.action, object_type=event.object_type,
        object_id=event.object_id, changes=changes)
