"""POST /api/v1/journal-entries/batch/: many entries through the bulk path, all or nothing,
every refusal listed, idempotent by key, scoped per entity as the single create endpoint."""
from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from ledger.models import Balance, JournalEntry, JournalEntryBatch, JournalLine
from ledger.services.batch import MAX_BATCH_ENTRIES
from tests.factories import user_with_role
from tests.ledger.helpers import build_world
from tests.locking import lock_through

pytestmark = pytest.mark.django_db
URL = "/api/v1/journal-entries/batch/"


def entry(n: int, amount: str = "10.0000", day: str = "2026-03-10", **kw) -> dict:
    return {"entry_date": day, "description": f"Batch sale {n}", "reference": f"INV-{n}",
            "lines": [{"account": "1200", "amount": amount}, {"account": "4100", "amount": f"-{amount}"}], **kw}


def batch(world, entries) -> dict:
    return {"entity": world.entity.code, "entries": entries}


@pytest.fixture
def preparer(world):
    return user_with_role(world.entity, "preparer")


def post(client, data, **headers):
    return client.post(URL, data, content_type="application/json", **headers)


def _balance(world, code: str) -> Decimal:
    return sum((b.amount for b in Balance.objects.filter(entity_id=world.entity.pk, account_id=world.acc(code))),
               Decimal(0))


def test_a_batch_posts_every_entry_with_its_lines_and_maintains_balances(client, world, preparer):
    client.force_login(preparer)
    entries = [entry(n, amount=f"{n}.5000") for n in range(1, 51)]
    entries[7]["lines"][0].update(dimensions={"project": "P7"}, memo="seventh")
    resp = post(client, batch(world, entries))
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert (data["entity"], data["entries"], data["lines"], data["created_by"]) == (
        world.entity.code, 50, 100, preparer.username)
    ids = data["entry_ids"]
    posted = {e.pk: e for e in JournalEntry.objects.filter(pk__in=ids)}
    assert len(ids) == len(posted) == 50
    assert [posted[i].description for i in ids] == [f"Batch sale {n}" for n in range(1, 51)]
    assert {(e.status, e.source, e.created_by_id, e.period.code) for e in posted.values()} == {
        ("posted", "manual", preparer.pk, "2026-03")}
    assert posted[ids[7]].reference == "INV-8"
    eighth = JournalLine.objects.get(entry_id=ids[7], line_no=1)
    assert (eighth.dimensions, eighth.memo, eighth.amount) == ({"project": "P7"}, "seventh", Decimal("8.5000"))
    total = sum(Decimal(f"{n}.5") for n in range(1, 51))
    assert _balance(world, "1200") == total and _balance(world, "4100") == -total
    tb = client.get("/api/v1/reports/trial-balance/", {"entity": world.entity.code, "period": "2026-03"}).json()
    assert tb["reconciles"] is True and Decimal(tb["total_debit"]) == total


def test_one_bad_entry_among_many_writes_nothing_and_every_refusal_is_listed(client, world, preparer):
    client.force_login(preparer)
    entries = [entry(n) for n in range(200)]
    entries[3]["lines"][1]["amount"] = "-9.9999"  # unbalanced (a ledger rule)
    entries[57]["lines"][0]["account"] = "9999"  # unknown account
    entries[58]["lines"][1]["amount"] = "1e3"  # not a plain decimal string
    entries[120]["entry_date"] = "2026-02-30"  # no such day
    entries[199]["lines"] = entries[199]["lines"][:1]  # one line
    resp = post(client, batch(world, entries))
    assert resp.status_code == 400, resp.json()
    errors = resp.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("entries[57].lines[0].account", "unknown_account"),
        ("entries[58].lines[1].amount", "invalid"),
        ("entries[120].entry_date", "invalid_date"),
        ("entries[199].lines", "too_few_lines"),
    ]
    # The request's shape fixed, the ledger's own rules are listed the same way.
    for n in (57, 58, 120, 199):
        entries[n] = entry(n)
    entries[150]["lines"][0]["account"] = "1000"  # a group account
    resp = post(client, batch(world, entries))
    assert resp.status_code == 400
    assert [(e["field"], e["code"], e.get("value")) for e in resp.json()["errors"]] == [
        ("entries[3].lines", "unbalanced", "0.0001"),
        ("entries[150].lines[0].account", "not_postable", None),
    ]
    assert JournalEntry.objects.count() == JournalLine.objects.count() == JournalEntryBatch.objects.count() == 0
    assert not Balance.objects.exists()


def test_entries_in_a_locked_period_are_refused_by_entry(client, world, preparer):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    client.force_login(preparer)
    resp = post(client, batch(world, [entry(0), entry(1, day="2026-02-10"), entry(2, day="2026-01-31")]))
    assert resp.status_code == 400
    assert [(e["field"], e["code"], e["value"]) for e in resp.json()["errors"]] == [
        ("entries[1].period", "period_locked", "2026-02"), ("entries[2].period", "period_locked", "2026-01")]
    assert JournalEntry.objects.count() == 0


def test_a_soft_closed_period_takes_the_batch_of_a_user_who_may_close_it_only(client, world, preparer):
    """The refusals are worked out beside the posting (ledger/services/batch.py): the preparer's
    batch is refused by entry with the posting rolled back; the controller's is posted."""
    from periods.services.transitions import entity_period_soft_close

    entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-03").pk, reason="month end")
    client.force_login(preparer)
    resp = post(client, batch(world, [entry(0, day="2026-02-10"), entry(1), entry(2, amount="1.0000")]))
    assert resp.status_code == 400
    assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [
        ("entries[1].period", "period_soft_closed"), ("entries[2].period", "period_soft_closed")]
    assert (JournalEntry.objects.count(), JournalLine.objects.count(), Balance.objects.count()) == (0, 0, 0)
    client.force_login(user_with_role(world.entity, "controller"))
    resp = post(client, batch(world, [entry(0, day="2026-02-10"), entry(1)]))
    assert resp.status_code == 201, resp.json()
    assert JournalEntry.objects.filter(status="posted").count() == 2
    assert _balance(world, "1200") == Decimal("20.0000")


def test_csv_body_posts_the_same_way_and_names_rows(client, world, preparer):
    client.force_login(preparer)
    csv_text = ("entry,entry_date,description,account,amount,memo,dim.project\r\n"
                "A,2026-03-01,Rent,5100,100.00,,P1\r\n"
                "A,,,1100,-100.00,paid,\r\n"
                "B,2026-03-02,Sale,1200,\"1,5\",,\r\n"
                "B,,,4100,-1.5,,\r\n"
                "C,2026-03-03,Sale,1200,7,,\r\n"
                "C,2026-03-04,,4100,-7,,\r\n")
    resp = client.post(f"{URL}?entity={world.entity.code}", csv_text, content_type="text/csv")
    assert resp.status_code == 400
    assert [(e["field"], e["code"], e["row"]) for e in resp.json()["errors"]] == [
        ("entries[2].entry_date", "inconsistent_entry", 7),
        ("entries[1].lines[0].amount", "invalid", 4),
    ]
    fixed = csv_text.replace('"1,5"', "1.5").replace("C,2026-03-04", "C,")
    resp = client.post(f"{URL}?entity={world.entity.code}", fixed, content_type="text/csv")
    assert resp.status_code == 201, resp.json()
    assert (resp.json()["entries"], resp.json()["lines"]) == (3, 6)
    rent = JournalLine.objects.get(entry_id=resp.json()["entry_ids"][0], line_no=1)
    assert (rent.source_row, rent.dimensions, rent.amount) == (2, {"project": "P1"}, Decimal("100"))
    assert JournalLine.objects.get(entry_id=resp.json()["entry_ids"][0], line_no=2).memo == "paid"


def test_idempotent_replay_returns_the_first_response_without_posting_again(client, world, preparer):
    client.force_login(preparer)
    body = batch(world, [entry(n) for n in range(5)])
    first = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == 201
    events = AuditEvent.objects.count()
    again = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert JournalEntry.objects.count() == 5 and JournalEntryBatch.objects.count() == 1
    assert AuditEvent.objects.count() == events  # nothing written by the replay
    other = post(client, batch(world, [entry(n) for n in range(6)]), HTTP_IDEMPOTENCY_KEY="batch-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert JournalEntry.objects.count() == 5
    fresh = post(client, body, HTTP_IDEMPOTENCY_KEY="batch-2")
    assert fresh.status_code == 201 and JournalEntry.objects.count() == 10


def test_a_refused_batch_does_not_use_up_its_key(client, world, preparer):
    client.force_login(preparer)
    bad = batch(world, [entry(0, amount="0")])
    assert post(client, bad, HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    good = batch(world, [entry(0)])
    assert post(client, good, HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_another_organisations_entity_is_404_and_nothing_is_written(client, world, preparer):
    other = build_world("OTHER")
    client.force_login(preparer)
    resp = post(client, {"entity": other.entity.code, "entries": [entry(0)]})
    assert resp.status_code == 404
    # The same organisation's entity without a role: 404 as well; a viewer's role: 403.
    assert post(client, {"entity": world.other.code, "entries": [entry(0)]}).status_code == 404
    viewer = user_with_role(world.entity, "viewer")
    client.force_login(viewer)
    resp = post(client, batch(world, [entry(0)]))
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    assert JournalEntry.objects.count() == 0 and JournalEntryBatch.objects.count() == 0


def test_more_than_the_limit_is_refused_before_anything_is_read(client, world, preparer):
    client.force_login(preparer)
    small = {"entry_date": "2026-03-10", "description": "x", "lines": []}
    resp = post(client, batch(world, [small] * (MAX_BATCH_ENTRIES + 1)))
    assert resp.status_code == 413
    assert resp.json()["code"] == "batch_too_large"
    assert resp.json()["errors"] == [{"field": "entries", "message": "At most 10,000 entries.",
                                      "code": "too_many_entries", "value": "10001"}]
    assert JournalEntry.objects.count() == 0


def test_an_entity_needing_approval_for_manual_entries_refuses_the_batch(client, world, preparer):
    from sheshi.tenancy.models import Entity

    Entity.objects.filter(pk=world.entity.pk).update(approval_required_sources=["manual"])
    client.force_login(preparer)
    resp = post(client, batch(world, [entry(0)]))
    assert resp.status_code == 422 and resp.json()["code"] == "entry_needs_approval"
    assert JournalEntry.objects.count() == 0


@pytest.mark.parametrize(("amount", "refusal"), [
    ("12.5", None), ("-0.0001", None), ("1234567890123456", None), ("00000000000000001.5", None), ("5.", None),
    (".5", None), ("12345678901234567", "max_whole_digits"), ("1.23456", "max_decimal_places"),
    ("1e3", "invalid"), ("٥", "invalid"), ("", "required"), (" 5", "invalid")])
def test_a_plain_line_and_the_general_path_read_amounts_alike(client, world, preparer, amount, refusal):
    """Lines of just an account and an amount are read on a short path (ledger/api/batch_input.py);
    at its edges the general path decides, with the single create endpoint's rules."""
    client.force_login(preparer)
    one = entry(0)
    one["lines"][0]["amount"] = amount
    one["lines"][1]["amount"] = "-1" if refusal else amount[1:] if amount[0] == "-" else "-" + amount
    two = entry(1)
    two["lines"][0].update(amount=amount, memo="general path")  # a third key: the general path
    two["lines"][1]["amount"] = one["lines"][1]["amount"]
    resp = post(client, batch(world, [one, two]))
    if refusal is None:
        assert resp.status_code == 201, resp.json()
        lines = JournalLine.objects.filter(line_no=1).order_by("entry_id")
        assert [li.amount for li in lines] == [Decimal(amount)] * 2
    else:
        assert resp.status_code == 400, resp.json()
        assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [
            ("entries[0].lines[0].amount", refusal), ("entries[1].lines[0].amount", refusal)]


@pytest.mark.parametrize("account", [["1200"], {"code": "1200"}, 1200, "", "9999", "1000"])
def test_a_line_whose_account_is_not_a_known_code_is_refused_by_field(client, world, preparer, account):
    client.force_login(preparer)
    one = entry(0)
    one["lines"][0]["account"] = account
    resp = post(client, batch(world, [one]))
    assert resp.status_code == 400, resp.json()
    assert [e["field"] for e in resp.json()["errors"]] == ["entries[0].lines[0].account"]
    assert JournalEntry.objects.count() == 0
