"""Account reconciliations (issue #16 item 3): the GL closing balance at the period end against
the statement balance entered, reconciling items, content-addressed evidence, preparer ≠
reviewer, and the lapse when the balance changes after sign-off."""
import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from audit.models import AuditEvent
from ledger.models import JournalLine
from ledger.selectors.books import account_closing_figures
from ledger.services.entries import journal_entry_create_and_post
from periods.models import AccountReconciliation, PeriodLockSnapshot, ReconciliationEvidence, ReconcilingItem
from periods.selectors.close import close_blockers, reconciliation_list
from periods.services import reconciliation as recs
from sheshi.errors import SheshiError
from tests.conditional import post_if_match
from tests.factories import user_with_role
from tests.locking import lock_through
from tests.periods.helpers import raw_post_sale, state
from tests.rules import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return {"prep": user_with_role(world.entity, "preparer", username="pat"),
            "rev": user_with_role(world.entity, "approver", username="rita"),
            "ctl": user_with_role(world.entity, "controller", username="carl"),
            # a preparer and an approver of the other entity only
            "outsider": user_with_role(world.other, "controller", username="otto")}


def gl(world, account: str = "1200", period: str = "2026-03") -> Decimal:
    return account_closing_figures(entity_id=world.entity.pk, period_id=world.period(period).pk,
                                   account_id=world.acc(account))[0]


def prepare(world, people, account: str = "1200", statement: Decimal | None = None):
    """Prepare with a statement that agrees with the GL (tests about other rules)."""
    return recs.reconciliation_prepare(actor=people["prep"], entity_period_id=world.entity_period("2026-03").pk,
                                       account_id=world.acc(account),
                                       statement_balance=gl(world, account) if statement is None else statement)


def everything() -> dict:
    return {**state(), "items": list(ReconcilingItem.objects.values_list("pk", "amount")),
            "evidence": list(ReconciliationEvidence.objects.values_list("pk", "sha256")),
            "recs_full": list(AccountReconciliation.objects.order_by("pk").values_list(
                "pk", "status", "statement_balance", "prepared_by", "reviewed_by"))}


def test_prepare_pins_the_closing_balance_at_period_end_not_the_months_movement(world, people):
    """The defect: preparing pinned the month's movement (23.45), not the balance the account
    closes March with (100 from February + 23.45)."""
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100", day=world.period(
        "2026-02").end_date))
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("23.45"))
    rec = prepare(world, people, statement=Decimal("123.45"))
    march_lines = JournalLine.objects.filter(entity=world.entity, account_id=world.acc("1200"),
                                             period=world.period("2026-03")).order_by("id")
    expected = hashlib.sha256("\n".join(f"{ln.pk}:{ln.currency}:{ln.amount}:{ln.functional_amount}"
                                        for ln in march_lines).encode()).hexdigest()
    assert (rec.status, rec.pinned_closing_balance, rec.pinned_line_count, rec.pinned_lines_sha256,
            rec.statement_balance) == ("prepared", Decimal("123.45"), 2, expected, Decimal("123.45"))
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.current_closing_balance, seen.lapsed) == (Decimal("123.45"), False)


def test_income_accounts_close_from_the_start_of_the_fiscal_year(world):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("10", day=world.period(
        "2026-01").end_date))
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("5"))
    assert gl(world, "4100") == Decimal("-15")
    assert gl(world, "4100", period="2026-01") == Decimal("-10")


def test_an_unexplained_difference_refuses_preparation_and_writes_nothing(world, people):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1000"))
    before = everything()
    with pytest.raises(SheshiError) as exc:
        prepare(world, people, statement=Decimal("950"))
    assert (exc.value.code, exc.value.status) == ("reconciliation_unexplained", 422)
    assert "leaving 50.00 unexplained" in exc.value.detail
    assert everything() == before


def test_reconciling_items_explain_the_difference_and_allow_preparation(world, people):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("1000"))
    (rec,) = recs.reconciliation_require(actor=people["ctl"], entity_period_id=world.entity_period("2026-03").pk,
                                         account_ids=[world.acc("1200")])
    recs.reconciliation_item_add(actor=people["prep"], reconciliation_id=rec.pk, description="Receipt in transit",
                                 amount=Decimal("30"))
    recs.reconciliation_item_add(actor=people["prep"], reconciliation_id=rec.pk, description="Card fees",
                                 amount=Decimal("20"))
    rec = prepare(world, people, statement=Decimal("950"))
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.status, seen.statement_balance, seen.items_total) == ("prepared", Decimal("950"), Decimal("50"))


def test_adding_an_item_to_a_signed_reconciliation_withdraws_the_signatures(world, people):
    rec = prepare(world, people)
    recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    recs.reconciliation_item_add(actor=people["prep"], reconciliation_id=rec.pk, description="Late fee",
                                 amount=Decimal("-5"))
    rec.refresh_from_db()
    assert (rec.status, rec.prepared_by_id, rec.reviewed_by_id) == ("open", None, None)


def test_an_item_needs_a_description_and_an_amount(world, people):
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                         account_ids=[world.acc("1200")])
    before = everything()
    with pytest.raises(SheshiError) as exc:
        recs.reconciliation_item_add(actor=people["prep"], reconciliation_id=rec.pk, description=" ", amount=0)
    assert [(e.field, e.code) for e in exc.value.errors] == [("description", "required"), ("amount", "required")]
    assert everything() == before


def test_preparer_cannot_review_their_own_sign_off(world, people):
    from sheshi.access.services.grants import role_grant

    role_grant(actor=None, user=people["prep"], entity=world.entity, role="approver")
    rec = prepare(world, people)
    before = everything()
    with pytest.raises(SheshiError) as exc:
        recs.reconciliation_review(actor=people["prep"], reconciliation_id=rec.pk)
    assert (exc.value.code, exc.value.status) == ("segregation_of_duties", 403)
    refused("reconciliation_reviewer_not_preparer",
            "UPDATE periods_accountreconciliation SET status = 'reviewed', reviewed_by_id = prepared_by_id, "
            "reviewed_at = now() WHERE id = %s", [rec.pk])
    assert everything() == before


def test_review_of_a_balance_that_moved_since_preparation_is_refused(world, people):
    rec = prepare(world, people)
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("5"))
    before = everything()
    with pytest.raises(SheshiError) as exc:
        recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    assert exc.value.code == "reconciliation_lapsed"
    assert "was 0.00 over 0 lines, now 5.00 over 1" in exc.value.detail
    assert everything() == before


def test_a_posting_into_an_earlier_open_month_lapses_the_sign_off_with_old_and_new_balance(world, people):
    """The closing balance moves when February changes after March was signed off."""
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100"))
    rec = prepare(world, people)
    recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    assert close_blockers(entity_period_id=world.entity_period("2026-03").pk) == []

    raw_post_sale(world, "7.5", period="2026-02")
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.status, seen.lapsed, seen.pinned_closing_balance, seen.current_closing_balance,
            seen.current_line_count) == ("reviewed", True, Decimal("100"), Decimal("107.5"), 2)
    before = everything()
    with pytest.raises(SheshiError) as exc:
        lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    assert [(e.message, e.code) for e in exc.value.errors] == [
        ("Reconciliation of 1200 has lapsed: the balance changed after it was signed off.", "lapsed")]
    assert everything() == before

    # Redo: prepare again (re-pins), another person reviews, the period locks.
    prepare(world, people)
    recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    assert PeriodLockSnapshot.objects.filter(entity_period=world.entity_period("2026-03")).count() == 1


def test_a_change_that_nets_to_zero_still_lapses_the_sign_off(world, people):
    rec = prepare(world, people, account="1100")
    recs.reconciliation_review(actor=people["rev"], reconciliation_id=rec.pk)
    raw_post_sale(world, "40", account="1100")
    raw_post_sale(world, "-40", account="1100")
    seen = reconciliation_list().get(pk=rec.pk)
    assert (seen.current_closing_balance, seen.current_line_count, seen.lapsed) == (Decimal("0"), 2, True)


def test_required_reconciliation_not_yet_prepared_blocks_the_lock(world):
    ep = world.entity_period("2026-03")
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("2100")])
    assert close_blockers(entity_period_id=ep.pk) == [
        {"kind": "reconciliation", "id": rec.pk, "title": "Reconciliation of 2100", "state": "open"}]


def test_the_system_cannot_sign_off(world):
    before = everything()
    with pytest.raises(SheshiError) as exc:
        recs.reconciliation_prepare(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                    account_id=world.acc("1200"), statement_balance=Decimal(0))
    assert exc.value.code == "permission_denied"
    assert everything() == before


@pytest.mark.parametrize("service", ["prepare", "item", "evidence", "review"])
def test_another_entitys_controller_is_refused_and_nothing_is_written(world, people, service):
    ep = world.entity_period("2026-03")
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=ep.pk, account_ids=[world.acc("1200")])
    if service == "review":
        rec = prepare(world, people)
    calls = {
        "prepare": lambda: recs.reconciliation_prepare(actor=people["outsider"], entity_period_id=ep.pk,
                                                       account_id=world.acc("1200"), statement_balance=Decimal(0)),
        "item": lambda: recs.reconciliation_item_add(actor=people["outsider"], reconciliation_id=rec.pk,
                                                     description="x", amount=Decimal(1)),
        "evidence": lambda: recs.reconciliation_evidence_attach(actor=people["outsider"], reconciliation_id=rec.pk,
                                                                upload=ContentFile(b"stmt", name="s.pdf")),
        "review": lambda: recs.reconciliation_review(actor=people["outsider"], reconciliation_id=rec.pk),
    }
    before = everything()
    with pytest.raises(SheshiError) as exc:
        calls[service]()
    assert exc.value.code == "permission_denied"
    assert everything() == before


def test_evidence_is_stored_by_its_sha256_and_the_audit_event_names_it(world, people, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                         account_ids=[world.acc("1200")])
    body = b"%PDF bank statement 31.03.2026"
    sha = hashlib.sha256(body).hexdigest()
    evidence = recs.reconciliation_evidence_attach(actor=people["prep"], reconciliation_id=rec.pk,
                                                   upload=ContentFile(body, name="statement-march.pdf"))
    assert (evidence.sha256, evidence.file_name, evidence.size, evidence.storage_name) == (
        sha, "statement-march.pdf", len(body), f"reconciliation-evidence/sha256/{sha[:2]}/{sha}")
    with default_storage.open(evidence.storage_name) as f:
        assert f.read() == body
    event = AuditEvent.objects.get(action="reconciliation.evidence_attached")
    assert (event.object_id, event.changes["sha256"], event.changes["file_name"], event.changes["evidence_id"]) == (
        str(rec.pk), sha, "statement-march.pdf", evidence.pk)

    # The same bytes again (under another name) are refused; a second reconciliation reuses the file.
    before = everything()
    with pytest.raises(SheshiError) as exc:
        recs.reconciliation_evidence_attach(actor=people["prep"], reconciliation_id=rec.pk,
                                            upload=ContentFile(body, name="copy.pdf"))
    assert exc.value.errors[0].code == "duplicate"
    assert everything() == before
    (other,) = recs.reconciliation_require(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                           account_ids=[world.acc("1100")])
    again = recs.reconciliation_evidence_attach(actor=people["prep"], reconciliation_id=other.pk,
                                                upload=ContentFile(body, name="copy.pdf"))
    assert again.storage_name == evidence.storage_name
    assert default_storage.listdir(f"reconciliation-evidence/sha256/{sha[:2]}")[1] == [sha]


def test_reconciling_items_evidence_and_comments_are_append_only_in_the_database(world, people):
    (rec,) = recs.reconciliation_require(actor=None, entity_period_id=world.entity_period("2026-03").pk,
                                         account_ids=[world.acc("1200")])
    item = recs.reconciliation_item_add(actor=people["prep"], reconciliation_id=rec.pk, description="Fee",
                                        amount=Decimal(3))
    refused("periods_close_record_append_only", "UPDATE periods_reconcilingitem SET amount = 4 WHERE id = %s",
            [item.pk])
    refused("periods_close_record_append_only", "DELETE FROM periods_reconcilingitem WHERE id = %s", [item.pk])


def test_reconciliation_api_prepare_items_evidence_review_and_lapse(client, world, people, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    ep = world.entity_period("2026-03")
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("500"))
    client.force_login(people["ctl"])
    resp = client.post("/api/v1/reconciliations/", {"entity_period": ep.pk, "accounts": [world.acc("1200")]},
                       content_type="application/json")
    assert resp.status_code == 201
    rec_id = resp.json()[0]["id"]
    client.force_login(people["prep"])
    resp = client.post(f"/api/v1/reconciliations/{rec_id}/items/", {"description": "Cheque 1042 not cleared",
                                                                     "amount": "-20.00"},
                       content_type="application/json")
    assert resp.status_code == 201 and resp.json()["items_total"] == "-20.0000"
    resp = client.post(f"/api/v1/reconciliations/{rec_id}/evidence/",
                       {"file": ContentFile(b"statement", name="stmt.pdf")})
    assert resp.status_code == 201
    assert resp.json()["evidence"][0]["sha256"] == hashlib.sha256(b"statement").hexdigest()
    resp = client.post("/api/v1/reconciliations/prepare/", {"entity_period": ep.pk, "account": world.acc("1200"),
                                                            "statement_balance": "500.00"},
                       content_type="application/json")
    assert (resp.status_code, resp.json()["code"]) == (422, "reconciliation_unexplained")
    resp = client.post("/api/v1/reconciliations/prepare/", {"entity_period": ep.pk, "account": world.acc("1200"),
                                                            "statement_balance": "520.00"},
                       content_type="application/json")
    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["unexplained_difference"]) == ("prepared", "0.0000")
    assert post_if_match(client, f"/api/v1/reconciliations/{rec_id}/review/").json()["code"] == "permission_denied"
    client.force_login(people["rev"])
    resp = post_if_match(client, f"/api/v1/reconciliations/{rec_id}/review/")
    assert resp.status_code == 200 and (resp.json()["status"], resp.json()["lapsed"]) == ("reviewed", False)
    raw_post_sale(world, "1")
    body = client.get(f"/api/v1/reconciliations/?entity_period={ep.pk}").json()["results"]
    assert [(r["account_code"], r["lapsed"], r["pinned_closing_balance"], r["current_closing_balance"],
             r["unexplained_difference"]) for r in body] == [("1200", True, "500.0000", "501.0000", "1.0000")]
    # Another entity's controller sees none of it.
    client.force_login(people["outsider"])
    assert client.get(f"/api/v1/reconciliations/{rec_id}/").status_code == 404
    assert client.post(f"/api/v1/reconciliations/{rec_id}/items/", {"description": "x", "amount": "1"},
                       content_type="application/json").status_code == 404
