"""sheshi/db/compiled.py (ORM SQL compiled once, run with new values) and the leaf-field copies of
sheshi/api/field_cache.py: the same rows and the same serializer output as the plain ORM/DRF path."""
import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.api.serializers import JournalEntryCreateInput, JournalEntryOutput
from ledger.models import Account
from sheshi.api.field_cache import fields_copy
from sheshi.db.compiled import run_compiled
from sheshi.tenancy.models import Entity
from tests.factories import EntityFactory

pytestmark = pytest.mark.django_db


def _entities(orgs, code):
    return Entity.objects.filter(organisation_id__in=orgs, code=code).values_list("id", "code",
                                                                                  "approval_required_sources")


def test_compiled_query_runs_the_orm_sql_with_each_call_s_values():
    a = EntityFactory(code="CQA", approval_required_sources=["import"])
    b = EntityFactory(code="CQB")
    key = ("test_compiled", "entities")
    assert run_compiled(key, _entities, (a.organisation_id,), "CQA") == [(a.pk, "CQA", ["import"])]  # JSON decoded
    assert run_compiled(key, _entities, (b.organisation_id,), "CQB") == [(b.pk, "CQB", [])]
    assert run_compiled(key, _entities, (b.organisation_id,), "CQA") == []  # another org: nothing
    both = (a.organisation_id, b.organisation_id)
    assert run_compiled(key, _entities, both, "CQB") == list(_entities(both, "CQB"))
    assert run_compiled(key, _entities, (), "CQB") == []  # an empty IN: no query, as the ORM
    with CaptureQueriesContext(connection) as ctx:
        run_compiled(key, _entities, (a.organisation_id,), "CQA")
    # One statement: the ORM's SQL, prepared on this connection at the first call, run by name.
    assert len(ctx.captured_queries) == 1 and ctx.captured_queries[0]["sql"].startswith("EXECUTE sheshi_")


def test_a_value_that_changes_the_sql_is_refused():
    def startswith(code):  # the value is rewritten ('CQ%'), so it would not be a parameter as given
        return Account.objects.filter(code__startswith=code).values_list("id")

    with pytest.raises(ValueError, match="did not become a parameter"):
        run_compiled(("test_compiled", "startswith"), startswith, "CQ")
    with pytest.raises(TypeError):
        run_compiled(("test_compiled", "float"), lambda x: Account.objects.filter(pk=x).values_list("id"), 1.5)


def test_leaf_field_copies_validate_and_render_as_deep_copies():
    body = {"entity": "E1", "entry_date": "2026-01-31", "description": "x" * 501, "source": "bogus",
            "lines": [{"account": "1000", "amount": "1.005", "dimensions": {"cc": "y" * 65}},
                      {"amount": "abc", "currency": "usd"}], "post": "maybe"}
    fast = JournalEntryCreateInput(data=body)
    assert not fast.is_valid()

    class Deep(JournalEntryCreateInput):
        def get_fields(self):
            return copy.deepcopy(self._declared_fields)

    deep = Deep(data=body)
    assert not deep.is_valid()
    assert fast.errors == deep.errors and "lines" in fast.errors
    ok = dict(body, description="fine", source="manual", post=True,
              lines=[{"account": "1000", "amount": "1.00"}, {"account": "2000", "amount": "-1.00"}])
    fast, deep = JournalEntryCreateInput(data=ok), Deep(data=ok)
    assert fast.is_valid() and deep.is_valid() and fast.validated_data == deep.validated_data
    # Two serializers' copies are distinct objects, bound each to its own parent.
    one, two = JournalEntryOutput().fields, JournalEntryOutput().fields
    assert all(one[n] is not two[n] and one[n].parent is not two[n].parent for n in one)
    built = JournalEntryOutput._class_built_fields
    assert all(f.parent is None for f in built.values())  # the class's own fields are never bound
    assert set(fields_copy(built)) == set(built)
