"""The single posting's lean path (issue #18 item 4): serializers reused request after request
(sheshi/api/serializer_reuse.py), lines written by one hand-built INSERT
(ledger/services/line_writer.py) and compiled queries prepared once per connection
(sheshi/db/compiled.py) — each gives what the plain DRF / ORM path gives."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ledger.api.serializers import JournalEntryCreateInput, JournalEntryOutput
from ledger.inputs import EntryInput, LineInput
from ledger.models import JournalEntry, JournalLine
from ledger.services import entries as services
from ledger.services import line_writer
from sheshi.api.serializer_reuse import represented, validated
from sheshi.db.compiled import run_compiled
from sheshi.db.context import db_context
from sheshi.tenancy.models import Entity
from tests.factories import EntityFactory
from tests.ledger.helpers import build_world

pytestmark = pytest.mark.django_db


def _post(world, lines: list[LineInput], description="lean path") -> JournalEntry:
    from datetime import date
    entry = EntryInput(entry_date=date(2026, 3, 10), description=description, lines=lines)
    return services.journal_entry_create_and_post(actor=None, entity=world.entity, entry=entry).entry


def _lines(world, n_pairs: int = 1) -> list[LineInput]:
    acc = world.accounts
    out = []
    for i in range(n_pairs):
        amount = Decimal(f"{i + 1}.2500")
        out += [LineInput(account_id=acc["1200"].pk, amount=amount, dimensions={"project": f"P{i}"}, memo=f"m{i}"),
                LineInput(account_id=acc["4100"].pk, amount=-amount)]
    return out


def _stored(entry_id: int) -> list[tuple]:
    return list(JournalLine.objects.filter(entry_id=entry_id).order_by("line_no").values_list(
        "id", "line_no", "account_id", "currency", "amount", "rate", "functional_amount", "counterparty_id",
        "dimensions", "memo", "source_raw"))


@pytest.mark.parametrize("n_pairs", [1, 3])
def test_lines_written_by_the_lean_insert_are_the_lines_given_with_their_ids(n_pairs):
    world = build_world()
    entry = _post(world, _lines(world, n_pairs))
    stored = _stored(entry.pk)
    written = JournalLine.objects.filter(entry_id=entry.pk).order_by("line_no")
    assert len(stored) == 2 * n_pairs
    assert [r[1] for r in stored] == list(range(1, 2 * n_pairs + 1))
    assert stored[0][2:] == (world.accounts["1200"].pk, "EUR", Decimal("1.2500"), Decimal("1"), Decimal("1.2500"),
                             None, {"project": "P0"}, "m0", "")
    assert [ln.pk for ln in written] == [r[0] for r in stored]


def test_many_lines_still_go_through_bulk_create(monkeypatch):
    world = build_world()
    monkeypatch.setattr(line_writer, "FEW_LINES", 1)
    with CaptureQueriesContext(connection) as ctx:
        entry = _post(world, _lines(world, 2))
    assert any("UNNEST" in q["sql"] for q in ctx.captured_queries)  # the ORM's bulk insert
    assert [r[1] for r in _stored(entry.pk)] == [1, 2, 3, 4]


def test_the_reused_output_serializer_renders_as_a_new_one_and_keeps_no_context():
    world = build_world()
    first = _post(world, _lines(world, 1), description="first")
    second = _post(world, _lines(world, 2), description="second")
    written = tuple(JournalLine.objects.filter(entry_id=first.pk).order_by("line_no"))
    assert represented(JournalEntryOutput, first, {"written_lines": written}) == \
        JournalEntryOutput(first, context={"written_lines": written}).data
    # No context this time: the entry's own lines, not the previous call's written ones.
    again = represented(JournalEntryOutput, second)
    assert again == JournalEntryOutput(second).data and len(again["lines"]) == 4


def test_the_reused_input_serializer_refuses_as_a_new_one_and_then_accepts():
    bad = {"entity": "E1", "entry_date": "2026-02-30", "description": "x" * 501, "post": "maybe",
           "lines": [{"account": "1000", "amount": "1.005"}, {"amount": "1e1", "currency": "usd"}]}
    fresh = JournalEntryCreateInput(data=bad)
    assert not fresh.is_valid()
    from rest_framework.exceptions import ValidationError
    with pytest.raises(ValidationError) as refused:
        validated(JournalEntryCreateInput, bad)
    assert refused.value.detail == fresh.errors
    ok = {"entity": "E1", "entry_date": "2026-03-10", "description": "fine", "post": True,
          "lines": [{"account": "1000", "amount": "1.00"}, {"account": "2000", "amount": "-1.00"}]}
    plain = JournalEntryCreateInput(data=ok)
    assert plain.is_valid()
    assert validated(JournalEntryCreateInput, ok) == plain.validated_data


def _entity_rows(orgs, code):
    return Entity.objects.filter(organisation_id__in=orgs, code=code).values_list("id", "code")


def test_a_compiled_query_is_prepared_once_per_connection_and_survives_a_rollback():
    a = EntityFactory(code="PRA")
    key = ("test_prepared", "entity")
    with CaptureQueriesContext(connection) as ctx:
        assert run_compiled(key, _entity_rows, (a.organisation_id,), "PRA") == [(a.pk, "PRA")]
        assert run_compiled(key, _entity_rows, (a.organisation_id,), "PRA") == [(a.pk, "PRA")]
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert sum(s.startswith("PREPARE ") for s in sqls) == 1 and sum(s.startswith("EXECUTE ") for s in sqls) == 2
    try:
        with transaction.atomic():
            run_compiled(key, _entity_rows, (a.organisation_id,), "PRA")
            raise RuntimeError
    except RuntimeError:
        pass
    assert run_compiled(key, _entity_rows, (a.organisation_id,), "PRA") == [(a.pk, "PRA")]  # still there


@pytest.mark.django_db(transaction=True)
def test_a_new_session_prepares_again():
    a = EntityFactory(code="PRN")
    key = ("test_prepared", "session")
    assert run_compiled(key, _entity_rows, (a.organisation_id,), "PRN") == [(a.pk, "PRN")]
    connection.close()  # the next query opens a new session, which holds no prepared statement
    with CaptureQueriesContext(connection) as ctx:
        assert run_compiled(key, _entity_rows, (a.organisation_id,), "PRN") == [(a.pk, "PRN")]
    assert [q["sql"].split()[0] for q in ctx.captured_queries][-2:] == ["PREPARE", "EXECUTE"]


def test_a_prepared_query_sees_only_the_organisations_of_the_session_that_runs_it():
    """Row-level security reads the session's scope when the plan runs, not when it was made."""
    a, b = EntityFactory(code="PRS"), EntityFactory(code="PRS")
    key = ("test_prepared", "scoped")
    both = tuple(sorted((a.organisation_id, b.organisation_id)))
    assert {r[0] for r in run_compiled(key, _entity_rows, both, "PRS")} == {a.pk, b.pk}  # prepared, all orgs
    with db_context(org_ids=[b.organisation_id]):
        assert run_compiled(key, _entity_rows, both, "PRS") == [(b.pk, "PRS")]
    with db_context(org_ids=[a.organisation_id]):
        assert run_compiled(key, _entity_rows, both, "PRS") == [(a.pk, "PRS")]


def test_a_statement_postgresql_will_not_prepare_runs_as_plain_sql_inside_a_transaction():
    a = EntityFactory(code="PRX")

    def untyped(orgs, code):  # "%s IS NULL": PostgreSQL cannot tell the parameter's type from its use
        return Entity.objects.filter(organisation_id__in=orgs, code=code).extra(
            where=["%s IS NULL OR true"], params=["x"]).values_list("id")

    with transaction.atomic():
        assert run_compiled(("test_prepared", "untyped"), untyped, (a.organisation_id,), "PRX") == [(a.pk,)]
        assert Entity.objects.filter(pk=a.pk).exists()  # the transaction is still usable


def test_the_lines_insert_is_prepared_once_and_writes_the_same_lines():
    world = build_world()
    first = _post(world, _lines(world, 1), description="first")
    with CaptureQueriesContext(connection) as ctx:
        second = _post(world, _lines(world, 1), description="second")
    inserts = [q["sql"] for q in ctx.captured_queries if "ledger_journalline" in q["sql"] or
               (q["sql"].startswith("EXECUTE") and "1.2500" in q["sql"])]
    assert inserts and all(q.startswith("EXECUTE") for q in inserts), inserts  # prepared by the first posting
    assert [r[2:] for r in _stored(first.pk)] == [r[2:] for r in _stored(second.pk)]  # same values, NULLs included
    assert _stored(second.pk)[1][2:] == (world.accounts["4100"].pk, "EUR", Decimal("-1.2500"), Decimal("1"),
                                         Decimal("-1.2500"), None, {}, "", "")
