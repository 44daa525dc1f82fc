"""The ledger over the API: decimal strings, idempotency, workflow, reports, scoping."""
from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from tests.conditional import post_if_match
from tests.factories import member, user_with_role
from tests.locking import lock_through

pytestmark = pytest.mark.django_db


def body(world, amount="125.5000", **kw):
    return {"entity": world.entity.code, "entry_date": "2026-03-10", "description": "API sale",
            "lines": [{"account": "1200", "amount": amount}, {"account": "4100", "amount": f"-{amount}"}], **kw}


@pytest.fixture
def preparer(world):
    return user_with_role(world.entity, "preparer")


def test_create_and_post_returns_decimal_strings(client, world, preparer):
    client.force_login(preparer)
    resp = client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert data["status"] == "posted" and data["period"] == "2026-03"
    assert [ln["functional_amount"] for ln in data["lines"]] == ["125.5000", "-125.5000"]


def test_json_number_amounts_keep_every_digit(client, world, preparer):
    client.force_login(preparer)
    raw = ('{"entity": "ENTITY", "entry_date": "2026-03-10", "description": "big", "post": true, "lines": ['
           '{"account": "1200", "amount": 123456789012345.6789}, {"account": "4100", "amount": -123456789012345.6789}'
           ']}').replace("ENTITY", world.entity.code)
    resp = client.post("/api/v1/journal-entries/", raw, content_type="application/json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["lines"][0]["amount"] == "123456789012345.6789"


def test_idempotency_key_replay_and_conflict(client, world, preparer):
    client.force_login(preparer)
    first = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="abc")
    again = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="abc")
    assert (first.status_code, again.status_code) == (201, 201)  # a replay answers the first status
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    other = client.post("/api/v1/journal-entries/", body(world, amount="1.0000"), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="abc")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert JournalEntry.objects.count() == 1


def test_an_idempotency_key_is_checked_as_on_every_create(client, world, preparer):
    """The ledger keeps its keys itself but reads them by the shared rule: printable ASCII, up to 128."""
    client.force_login(preparer)
    for key in ("caf\u00e9", "k" * 129):
        resp = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=key)
        assert (resp.status_code, resp.json()["errors"][0]["field"]) == (400, "Idempotency-Key")
    assert JournalEntry.objects.count() == 0


def test_posted_entry_replay_matches_the_first_response_and_survives_a_lock(client, world, preparer):
    """The first response is built from what was written, a replay from what is stored: they must
    agree. A retry after the period was locked still gets its entry, never a second one."""

    client.force_login(preparer)
    cp = body(world, post=True)
    cp["lines"][0].update(counterparty=world.other.code, dimensions={"project": "P1", "cc": "7"}, memo="m")
    first = client.post("/api/v1/journal-entries/", cp, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 201, first.json()
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    again = client.post("/api/v1/journal-entries/", cp, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["lines"][0]["counterparty"] == world.other.code
    fresh = client.post("/api/v1/journal-entries/", cp, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 422 and fresh.json()["code"] == "period_locked"
    assert JournalEntry.objects.count() == 1


def test_a_revoked_role_is_refused_on_the_next_request(client, world, preparer):
    """Permissions are remembered for one request only."""
    from sheshi.access.services.grants import role_revoke

    client.force_login(preparer)
    assert client.post("/api/v1/journal-entries/", body(world, post=True),
                       content_type="application/json").status_code == 201
    role_revoke(actor=None, user=preparer, entity=world.entity, role="preparer")
    resp = client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    assert resp.status_code == 404 and JournalEntry.objects.count() == 1


def test_posting_an_entry_costs_a_bounded_number_of_queries(client, world, preparer, django_assert_max_num_queries):
    """Guards the posting path's round trips (was 35 before per-request permission look-ups and
    the single posted INSERT; 14 before the entity came with the caller's permissions on it, in
    one query); counted, not timed. With a key, one of them asks whether the key was first used for
    another create endpoint (sheshi/api/idempotency.py)."""
    client.force_login(preparer)
    client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    with django_assert_max_num_queries(14):
        resp = client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="q-1")
    assert resp.status_code == 201


def test_unbalanced_entry_is_a_422_problem_with_field_errors(client, world, preparer):
    """One rule, one answer (issue #15): the service's refusal is PostgreSQL's, entry_unbalanced / 422."""
    client.force_login(preparer)
    bad = body(world)
    bad["lines"][1]["amount"] = "-125.4999"
    resp = client.post("/api/v1/journal-entries/", bad, content_type="application/json")
    assert resp.status_code == 422
    assert (resp.json()["code"], resp.json()["title"]) == ("entry_unbalanced", "The entry does not balance.")
    assert resp.json()["errors"] == [{"field": "lines", "message": "Functional amounts sum to 0.0001, not 0.",
                                      "code": "unbalanced", "value": "0.0001"}]
    assert JournalEntry.objects.count() == 0


def test_unknown_account_code_is_reported_per_line(client, world, preparer):
    client.force_login(preparer)
    bad = body(world)
    bad["lines"][0]["account"] = "9999"
    resp = client.post("/api/v1/journal-entries/", bad, content_type="application/json")
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "lines[0].account"


def test_workflow_actions_and_segregation_of_duties(client, world, preparer):
    world.entity.approval_required_sources = ["manual"]
    world.entity.save()
    approver = user_with_role(world.entity, "approver")
    client.force_login(preparer)
    entry_id = client.post("/api/v1/journal-entries/", body(world), content_type="application/json").json()["id"]
    assert post_if_match(client, f"/api/v1/journal-entries/{entry_id}/submit/").json()["status"] == "submitted"
    assert post_if_match(client, f"/api/v1/journal-entries/{entry_id}/approve/").status_code == 403
    client.force_login(approver)
    assert post_if_match(client, f"/api/v1/journal-entries/{entry_id}/approve/").json()["status"] == "approved"
    assert post_if_match(client, f"/api/v1/journal-entries/{entry_id}/post/").json()["status"] == "posted"
    reversal = client.post(f"/api/v1/journal-entries/{entry_id}/reverse/", {}, content_type="application/json")
    assert reversal.status_code == 403  # approver may not prepare the reversal
    client.force_login(preparer)
    reversal = client.post(f"/api/v1/journal-entries/{entry_id}/reverse/", {}, content_type="application/json")
    assert reversal.status_code == 201 and reversal.json()["reverses"] == entry_id
    # The organisation's default policy: the reversal awaits approval, in the next open period.
    assert (reversal.json()["status"], reversal.json()["entry_date"]) == ("submitted", "2026-04-01")


def test_the_reversals_date_or_period_is_the_callers_choice(client, world, preparer):
    client.force_login(preparer)
    first = client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json").json()
    second = client.post("/api/v1/journal-entries/", body(world, post=True, description="b"),
                         content_type="application/json").json()
    resp = client.post(f"/api/v1/journal-entries/{first['id']}/reverse/", {"period": "2026-07"},
                       content_type="application/json")
    assert resp.status_code == 201
    assert (resp.json()["status"], resp.json()["period"], resp.json()["entry_date"]) == (
        "submitted", "2026-07", "2026-07-01")
    resp = client.post(f"/api/v1/journal-entries/{second['id']}/reverse/", {"entry_date": "2026-03-31"},
                       content_type="application/json")
    assert (resp.json()["period"], resp.json()["entry_date"]) == ("2026-03", "2026-03-31")
    resp = client.post(f"/api/v1/journal-entries/{second['id']}/reverse/", {"period": "2031-01"},
                       content_type="application/json")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "period"


def test_posting_ones_own_entry_is_a_403(client, world, preparer):
    client.force_login(preparer)
    entry_id = client.post("/api/v1/journal-entries/", body(world), content_type="application/json").json()["id"]
    resp = post_if_match(client, f"/api/v1/journal-entries/{entry_id}/post/")
    assert resp.status_code == 403 and resp.json()["code"] == "poster_is_preparer"
    assert JournalEntry.objects.get(pk=entry_id).status == "draft"


def test_posting_into_a_locked_period_is_a_422(client, world, preparer):

    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    client.force_login(preparer)
    resp = client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "period_locked"
    assert JournalEntry.objects.count() == 0


def test_entries_of_other_entities_are_404(client, world, preparer):
    from ledger.services.entries import journal_entry_create_and_post

    other = journal_entry_create_and_post(actor=None, entity=world.other,
                                          entry=world.sale("5")).entry
    client.force_login(preparer)
    assert client.get(f"/api/v1/journal-entries/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/journal-entries/{other.pk}/reverse/", {}, content_type="application/json"
                       ).status_code == 404
    assert client.get("/api/v1/journal-entries/").json()["results"] == []


def test_trial_balance_rolls_up_and_reconciles(client, world, preparer):
    client.force_login(preparer)
    client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    resp = client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03")
    assert resp.status_code == 200
    tb = resp.json()
    rows = {r["code"]: (r["debit"], r["credit"]) for r in tb["rows"]}
    assert rows == {"1000": ("125.5000", "0.0000"), "1200": ("125.5000", "0.0000"),
                    "4000": ("0.0000", "125.5000"), "4100": ("0.0000", "125.5000")}
    assert tb["reconciles"] is True and tb["total_debit"] == tb["total_credit"] == "125.5000"


def test_balance_sheet_balances_with_current_year_earnings(client, world, preparer):
    client.force_login(preparer)
    client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    bs = client.get(f"/api/v1/reports/balance-sheet/?entity={world.entity.code}&period=2026-12").json()
    assert bs["reconciles"] is True
    assert bs["totals"]["asset"] == bs["totals"]["current_year_earnings"] == "125.5000"
    pl = client.get(f"/api/v1/reports/income-statement/?entity={world.entity.code}&period=2026-03").json()
    assert pl["totals"]["net_income"] == "125.5000"


def test_general_ledger_has_running_balance(client, world, preparer):
    client.force_login(preparer)
    for amount in ("10.0000", "5.5000"):
        client.post("/api/v1/journal-entries/", body(world, amount=amount, post=True), content_type="application/json")
    gl = client.get(f"/api/v1/reports/general-ledger/?entity={world.entity.code}&period=2026-03&account=1200").json()
    assert [ln["running_balance"] for ln in gl["lines"]] == ["10.0000", "15.5000"]


def test_report_csv_export_escapes_text_and_keeps_numbers(client, world, preparer):
    from ledger.models import Account

    Account.objects.filter(organisation=world.org, code="4100").update(name="=HYPERLINK(\"x\")")
    client.force_login(preparer)
    client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    resp = client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03&export=csv")
    text = resp.content.decode()
    assert resp["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK" in text and ",125.5000," in text


def test_report_for_an_entity_without_role_is_404(client, world):
    stranger = user_with_role(world.other, "viewer")
    client.force_login(stranger)
    assert client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03").status_code == 404


def test_chart_maintenance_needs_org_admin(client, world, preparer):
    client.force_login(preparer)
    payload = {"code": "1300", "name": "Inventory", "type": "asset", "parent": "1000"}
    assert client.post(f"/api/v1/accounts/?organisation={world.org.pk}", payload,
                       content_type="application/json").status_code == 403
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_user("orgadmin", password="x" * 12)
    member(admin, world.org, org_admin=True)
    client.force_login(admin)
    resp = client.post(f"/api/v1/accounts/?organisation={world.org.pk}", payload, content_type="application/json")
    assert resp.status_code == 201 and resp.json()["parent"] == "1000" and resp.json()["normal_balance"] == "debit"
    moved = post_if_match(client, f"/api/v1/accounts/{resp.json()['id']}/move/", {"parent": None},
                          content_type="application/json")
    assert moved.status_code == 200 and moved.json()["parent"] is None


def test_verify_balances_finds_no_difference_after_api_work(client, world, preparer):
    from ledger.selectors.reports import balances_verify

    client.force_login(preparer)
    for amount in ("1.0000", "2.2500", "3.0001"):
        client.post("/api/v1/journal-entries/", body(world, amount=amount, post=True), content_type="application/json")
    assert balances_verify(organisation_id=world.org.pk) == []
    from ledger.models import Balance

    assert Balance.objects.get(entity_id=world.entity.pk, account_id=world.acc("1200")).functional_debit \
        == Decimal("6.2501")


def test_report_reads_and_exports_are_recorded_in_the_audit_log(client, world, preparer):
    from audit.models import AuditEvent

    client.force_login(preparer)
    client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03")
    client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03&export=csv")
    events = list(AuditEvent.objects.filter(organisation_id=world.org.pk, object_type="report.trial_balance")
                  .order_by("id").values_list("action", "object_id", "actor_id"))
    assert events == [("report.read", f"{world.entity.code}/2026-03", preparer.pk),
                      ("report.exported", f"{world.entity.code}/2026-03", preparer.pk)]


def test_report_xlsx_export_is_the_admin_file_with_header_block_and_group_rows_without_figures(client, world,
                                                                                            preparer):
    """The API's export wrote group rows with their children's figures (a SUM double counted) and no header
    naming organisation, entity, period and state (#16): now the admin's report file."""
    from tests.ledger.test_report_pages import header_and_table, sheet

    client.force_login(preparer)
    client.post("/api/v1/journal-entries/", body(world, post=True), content_type="application/json")
    resp = client.get(f"/api/v1/reports/trial-balance/?entity={world.entity.code}&period=2026-03&export=xlsx")
    header, _columns, rows = header_and_table(sheet(resp))
    assert header["Entity"].startswith(world.entity.code) and header["Period"] == "2026-03"
    assert header["Period state"] == "Open" and header["Organisation"].startswith(world.org.code)
    groups = [r for r in rows if r["Row"] == "group"]
    assert groups and all(r["Debit"] is None and r["Credit"] is None for r in groups)
    posting = [r for r in rows if r["Row"] == "posting"]
    assert sum(r["Debit"] or 0 for r in posting) == header["Total debit"] == Decimal("125.5")


def test_an_idempotency_key_is_the_callers_across_every_create_endpoint(client, world, preparer):
    """A key first used for one create endpoint is refused on another (409 idempotency_key_reused,
    naming the first use), whichever table keeps it: entries, batches, or the shared records."""
    client.force_login(preparer)
    entry = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="shared-1").json()
    comments = f"/api/v1/journal-entries/{entry['id']}/comments/"
    reused = client.post(comments, {"body": "a note"}, content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY="shared-1")
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    assert f"POST /api/v1/journal-entries/ (entry {entry['id']})" in reused.json()["detail"]
    batch = {"entity": world.entity.code, "entries": [{k: v for k, v in body(world).items() if k != "entity"}]}
    as_batch = client.post("/api/v1/journal-entries/batch/", batch, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="shared-1")
    assert (as_batch.status_code, as_batch.json()["code"]) == (409, "idempotency_key_reused")

    # The other way round: first kept by the shared records (a comment), then sent to the entries.
    assert client.post(comments, {"body": "a note"}, content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="shared-2").status_code == 201
    as_entry = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="shared-2")
    assert (as_entry.status_code, as_entry.json()["code"]) == (409, "idempotency_key_reused")
    assert f"POST {comments}" in as_entry.json()["detail"]
    # A batch's key is refused on a single entry too; each endpoint still replays its own.
    assert client.post("/api/v1/journal-entries/batch/", batch, content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY="shared-3").status_code == 201
    as_entry = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="shared-3")
    assert (as_entry.status_code, as_entry.json()["code"]) == (409, "idempotency_key_reused")
    assert "POST /api/v1/journal-entries/batch/ (batch" in as_entry.json()["detail"]
    again = client.post("/api/v1/journal-entries/", body(world), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="shared-1")
    assert (again.status_code, again["Idempotent-Replayed"], again.json()["id"]) == (201, "true", entry["id"])
    assert JournalEntry.objects.filter(idempotency_key__startswith="shared-").count() == 1


def test_entry_output_fields_are_built_once_per_class_and_bound_per_instance():
    """sheshi/api/field_cache.py: the built fields are copied for each serializer, never shared."""
    from ledger.api.serializers import JournalEntryOutput

    a, b = JournalEntryOutput(), JournalEntryOutput()
    assert list(a.fields) == list(b.fields) == JournalEntryOutput.Meta.fields
    assert "_class_built_fields" in JournalEntryOutput.__dict__
    for name in a.fields:
        assert a.fields[name] is not b.fields[name]
        assert (a.fields[name].parent, b.fields[name].parent) == (a, b)
    lines_a, lines_b = a.fields["lines"].child, b.fields["lines"].child
    assert lines_a is not lines_b and list(lines_a.fields) == list(lines_b.fields)
