"""One rule, one answer (issue #15 item 6): where the service refuses something PostgreSQL also
refuses, both refusals render as the same problem (code, status, title).

Before, an unbalanced entry was 400 validation_failed from the service but 422 entry_unbalanced
from the database; a duplicate account code 400 from the service's check but 409 from the unique
constraint; an illegal status change 409 entry_wrong_status from the service but 409
entry_transition_invalid from the trigger; a period locked with drafts 422 from the service but
409 from the trigger; voiding without a reason 400 validation_failed from the service but 422
reason_required from the constraint.

``PARITY`` is the table: for each database rule with a service-side check, how to trigger the
service's refusal and how to trigger the database's. ``NO_SERVICE_CHECK`` lists the rules the
database alone enforces, each with its reason; ``PARITY_NOT_YET_TESTED`` the rules that have a
service-side check but no row yet (it may only shrink). Every rule in ``DB_RULES`` is in exactly
one of the three (test_every_database_rule_is_classified).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from ledger.inputs import EntryInput, LineInput
from ledger.services.chart import account_create
from ledger.services.entries import (
    journal_entry_approve,
    journal_entry_create,
    journal_entry_post,
    journal_entry_submit,
    journal_entry_void,
)
from periods.services.transitions import entity_period_lock, entity_period_reopen
from sheshi.errors import DB_RULES, SheshiError, from_db_error
from tests.factories import user_with_role
from tests.locking import lock_through
from tests.rules import raw

pytestmark = pytest.mark.django_db


def db_refusal(rule: str, sql: str, params=None) -> SheshiError:
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(sql, params)
    diag = exc.value.__cause__.diag
    assert diag.constraint_name == rule, (diag.constraint_name, diag.message_primary)
    err = from_db_error(exc.value)
    assert err is not None, exc.value
    return err


def service_refusal(call) -> SheshiError:
    with pytest.raises(SheshiError) as exc:
        call()
    return exc.value


def balanced(world, amount="10", day=date(2026, 3, 15)) -> EntryInput:
    return world.sale(amount, day)


def draft(world, actor=None, amount="10"):
    return journal_entry_create(actor=actor, entity=world.entity, entry=balanced(world, amount)).entry


# Each case: (service refusal, database refusal), both built on the ledger test world.

def case_unbalanced(world):
    lines = [LineInput(account_id=world.acc("1200"), amount=Decimal("10")),
             LineInput(account_id=world.acc("4100"), amount=Decimal("-9.99"))]
    service = service_refusal(lambda: journal_entry_create(actor=None, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 3, 15), description="off by a cent", lines=lines)))
    entry = draft(world)
    raw("UPDATE ledger_journalline SET amount = -9.99, functional_amount = -9.99 WHERE entry_id = %s AND line_no = 2",
        [entry.pk])
    database = db_refusal("ledger_entry_unbalanced",
                          "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s",
                          [entry.pk])
    return service, database


def case_account_code_taken(world):
    service = service_refusal(lambda: account_create(actor=None, organisation_id=world.org.pk, code="1200",
                                                     name="again", type="asset"))
    database = db_refusal("account_code_unique_in_org", """
        INSERT INTO ledger_account (organisation_id, code, name, kind, type, normal_balance, is_intercompany, role,
                                    is_active, created_at, updated_at)
        VALUES (%s, '1200', 'again', 'posting', 'asset', 'debit', false, '', true, now(), now())""", [world.org.pk])
    return service, database


def case_date_outside_period(world):
    march = world.period("2026-03")
    service = service_refusal(lambda: journal_entry_create(actor=None, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 4, 2), description="misdated", period_id=march.pk,
        lines=balanced(world).lines)))
    entry = draft(world)
    database = db_refusal("ledger_entry_date_outside_period",
                          "UPDATE ledger_journalentry SET entry_date = '2026-04-01' WHERE id = %s", [entry.pk])
    return service, database


def case_reverse_on_not_after_the_entry(world):
    service = service_refusal(lambda: journal_entry_create(actor=None, entity=world.entity, entry=EntryInput(
        entry_date=date(2026, 3, 15), description="accrual", reverse_on=date(2026, 3, 10),
        lines=balanced(world).lines)))
    entry = draft(world)
    database = db_refusal("entry_reverse_on_after_entry_date",
                          "UPDATE ledger_journalentry SET reverse_on = entry_date WHERE id = %s", [entry.pk])
    return service, database


def case_entry_in_locked_period(world):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk, reason="March closed")
    service = service_refusal(lambda: draft(world))
    database = db_refusal("ledger_entry_in_locked_period", """
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, request_hash)
        VALUES (%s, %s, %s, '2026-03-03', 'late draft', 'manual', 'draft', now(), '')""",
                          [world.org.pk, world.entity.pk, world.period("2026-03").pk])
    return service, database


def case_wrong_status(world):
    entry = draft(world)
    service = service_refusal(lambda: journal_entry_approve(actor=None, entry_id=entry.pk))  # not submitted
    database = db_refusal("ledger_entry_transition_invalid",
                          "UPDATE ledger_journalentry SET status = 'approved' WHERE id = %s", [entry.pk])
    return service, database


def case_approver_is_preparer(world):
    preparer = user_with_role(world.entity, "controller")
    entry = draft(world, actor=preparer)
    journal_entry_submit(actor=preparer, entry_id=entry.pk)
    service = service_refusal(lambda: journal_entry_approve(actor=preparer, entry_id=entry.pk))
    database = db_refusal("entry_approver_not_preparer",
                          "UPDATE ledger_journalentry SET approved_by_id = created_by_id WHERE id = %s", [entry.pk])
    return service, database


def case_poster_is_preparer(world):
    controller, approver = user_with_role(world.entity, "controller"), user_with_role(world.entity, "approver")
    world.entity.approval_required_sources = ["manual"]
    world.entity.save(update_fields=["approval_required_sources"])
    entry = draft(world, actor=controller)
    journal_entry_submit(actor=controller, entry_id=entry.pk)
    journal_entry_approve(actor=approver, entry_id=entry.pk)
    service = service_refusal(lambda: journal_entry_post(actor=controller, entry_id=entry.pk))
    database = db_refusal("ledger_poster_is_preparer", "UPDATE ledger_journalentry SET status = 'posted', "
                          "posted_by_id = %s, posted_at = now() WHERE id = %s", [controller.pk, entry.pk])
    return service, database


def case_void_without_reason(world):
    entry = draft(world)
    service = service_refusal(lambda: journal_entry_void(actor=None, entry_id=entry.pk, reason="  "))
    database = db_refusal("entry_void_has_reason", "UPDATE ledger_journalentry SET status = 'void', "
                          "voided_at = now(), void_reason = '' WHERE id = %s", [entry.pk])
    return service, database


def case_lock_with_unposted_entries(world):
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    draft(world)
    march = world.entity_period("2026-03")
    service = service_refusal(lambda: entity_period_lock(actor=None, entity_period_id=march.pk))
    database = db_refusal("ledger_lock_unposted_entries",
                          "UPDATE periods_entityperiod SET state = 'locked' WHERE id = %s", [march.pk])
    return service, database


def case_reopen_without_reason(world):
    january = world.entity_period("2026-01")
    entity_period_lock(actor=None, entity_period_id=january.pk)
    service = service_refusal(lambda: entity_period_reopen(actor=None, entity_period_id=january.pk, reason=" "))
    database = db_refusal("periods_reopen_reason_required",
                          "UPDATE periods_entityperiod SET state = 'open', reason = '' WHERE id = %s", [january.pk])
    return service, database


def case_idempotency_key_reused(world):
    preparer = user_with_role(world.entity, "preparer")
    first = journal_entry_create(actor=preparer, entity=world.entity, entry=balanced(world), idempotency_key="k1",
                                 request_hash="body-1").entry
    service = service_refusal(lambda: journal_entry_create(
        actor=preparer, entity=world.entity, entry=balanced(world, "11"), idempotency_key="k1",
        request_hash="body-2"))
    database = db_refusal("entry_idempotency_key_unique", """
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, request_hash, created_by_id, idempotency_key)
        SELECT organisation_id, entity_id, period_id, entry_date, 'again', source, 'draft', now(), 'body-2',
               created_by_id, idempotency_key FROM ledger_journalentry WHERE id = %s""", [first.pk])
    return service, database


def case_reviewer_is_preparer(world):
    from ledger.selectors.books import account_closing_figures
    from periods.services import reconciliation
    from sheshi.access.services.grants import role_grant

    preparer = user_with_role(world.entity, "preparer")
    role_grant(actor=None, user=preparer, entity=world.entity, role="approver")
    ep = world.entity_period("2026-03")
    # Prepare needs the statement balance; the GL's own closing balance leaves nothing unexplained.
    closing = account_closing_figures(entity_id=ep.entity_id, period_id=ep.period_id, account_id=world.acc("1200"))[0]
    rec = reconciliation.reconciliation_prepare(actor=preparer, entity_period_id=ep.pk, account_id=world.acc("1200"),
                                                statement_balance=closing)
    service = service_refusal(lambda: reconciliation.reconciliation_review(actor=preparer,
                                                                           reconciliation_id=rec.pk))
    database = db_refusal("reconciliation_reviewer_not_preparer",
                          "UPDATE periods_accountreconciliation SET status = 'reviewed', "
                          "reviewed_by_id = prepared_by_id, reviewed_at = now() WHERE id = %s", [rec.pk])
    return service, database


def case_task_reviewer_is_preparer(world):
    from periods.services import checklist

    preparer = user_with_role(world.entity, "controller")  # may complete and may sign off
    checklist.checklist_template_create(actor=None, organisation=world.org, name="Review", items=[
        {"title": "Bank reconciliation", "required": True, "requires_review": True}])
    (task,) = checklist.checklist_tasks_create_from_templates(actor=None,
                                                              entity_period_id=world.entity_period("2026-03").pk)
    checklist.checklist_task_set_status(actor=preparer, task_id=task.pk, status="done")
    service = service_refusal(lambda: checklist.checklist_task_sign_off(actor=preparer, task_id=task.pk))
    database = db_refusal("checklist_task_reviewer_not_preparer",
                          "UPDATE periods_checklisttask SET status = 'signed_off', signed_off_by_id = completed_by_id, "
                          "signed_off_at = now() WHERE id = %s", [task.pk])
    return service, database


def case_group_members_not_locked(world):
    from periods.services.group_lock import group_period_lock

    period = world.entity_period("2026-03").period
    service = service_refusal(lambda: group_period_lock(None, [world.entity.pk, world.other.pk], period.pk))
    database = db_refusal("periods_group_members_not_locked", """
        INSERT INTO periods_groupperiodlock (organisation_id, group_key, period_id, entity_ids, locked_at)
        VALUES (%s, 'G', %s, ARRAY[%s, %s]::bigint[], now())""", [world.org.pk, period.pk, world.entity.pk,
                                                                  world.other.pk])
    return service, database


@dataclass(frozen=True)
class Parity:
    rule: str
    case: object
    expected: tuple[str, int]


PARITY = [
    Parity("ledger_entry_unbalanced", case_unbalanced, ("entry_unbalanced", 422)),
    Parity("account_code_unique_in_org", case_account_code_taken, ("account_code_taken", 409)),
    Parity("ledger_entry_date_outside_period", case_date_outside_period, ("date_outside_period", 422)),
    Parity("entry_reverse_on_after_entry_date", case_reverse_on_not_after_the_entry, ("reverse_on_invalid", 422)),
    Parity("ledger_entry_in_locked_period", case_entry_in_locked_period, ("period_locked", 422)),
    Parity("ledger_entry_transition_invalid", case_wrong_status, ("entry_wrong_status", 409)),
    Parity("entry_approver_not_preparer", case_approver_is_preparer, ("segregation_of_duties", 403)),
    Parity("ledger_poster_is_preparer", case_poster_is_preparer, ("poster_is_preparer", 403)),
    Parity("entry_void_has_reason", case_void_without_reason, ("reason_required", 422)),
    Parity("ledger_lock_unposted_entries", case_lock_with_unposted_entries, ("unposted_entries", 422)),
    Parity("periods_reopen_reason_required", case_reopen_without_reason, ("reason_required", 422)),
    Parity("entry_idempotency_key_unique", case_idempotency_key_reused, ("idempotency_key_reused", 409)),
    Parity("reconciliation_reviewer_not_preparer", case_reviewer_is_preparer, ("segregation_of_duties", 403)),
    Parity("checklist_task_reviewer_not_preparer", case_task_reviewer_is_preparer, ("segregation_of_duties", 403)),
    Parity("periods_group_members_not_locked", case_group_members_not_locked, ("group_members_not_locked", 422)),
]

# The database is the only check: the service lets PostgreSQL refuse (and the rule's code answers).
NO_SERVICE_CHECK = {
    "idempotency_key_used_elsewhere": "one key across endpoints is the database's alone (the insert that keeps "
                                      "the key, under a lock on user and key); tests/api/test_idempotency_race.py",
    "ledger_line_entry_not_draft": "lines are written only by the draft services; raw SQL is the only other way in",
    "ledger_posted_entry_immutable": "no service edits a posted entry (reversal only); guards raw SQL",
    "ledger_void_entry_immutable": "no service edits a void entry; guards raw SQL",
    "ledger_entry_entity_fixed": "no service moves an entry between entities; guards raw SQL",
    "ledger_period_locked": "the service refuses earlier, at creation (ledger_entry_in_locked_period's row)",
    "ledger_fiscal_year_closed": "the trigger alone decides (closing entries excepted by the year-end service)",
    "ledger_later_period_locked": "the trigger alone decides which later period is locked",
    "ledger_period_not_open": "the trigger alone checks the entity period exists and is open at posting",
    "ledger_period_soft_closed": "the trigger alone checks the close privilege at posting",
    "ledger_entry_needs_approval": "journal_entry_post requires approval by status (entry_wrong_status's row); "
                                   "the trigger guards raw SQL and the bulk path",
    "ledger_approver_not_actor": "the services record the acting user; guards raw SQL",
    "ledger_account_identity_fixed": "no service renames an account; guards raw SQL and the admin",
    "ledger_entity_currency_fixed": "no service changes a functional currency; guards raw SQL",
    "ledger_line_invalid": "lines copy their entry's fields in the service; guards raw SQL",
    "ledger_account_parent_invalid": "account_move lets the trigger refuse a cycle or a posting parent",
    "ledger_account_kind_invalid": "no service changes an account's kind; guards raw SQL",
    "ledger_line_account_missing": "foreign-key stand-in for raw SQL; the API resolves codes first",
    "ledger_line_entry_missing": "foreign-key stand-in for raw SQL",
    "ledger_entry_reference_missing": "foreign-key stand-in for raw SQL",
    "ledger_reference_in_use": "no service deletes referenced rows; guards raw SQL",
    "ledger_reference_key_fixed": "no service changes a primary key; guards raw SQL",
    "line_currency_iso": "the API's serializer refuses a bad currency as input validation (400)",
    "line_not_zero": "input validation in the service and the import validator; guards raw SQL",
    "line_amount_signs_agree": "input validation on the bulk path; guards raw SQL",
    "periods_state_transition_invalid": "no service deletes, re-points or creates a non-open entity period; "
                                        "its code is the services' period_wrong_state",
    "periods_snapshot_append_only": "no service edits a lock snapshot; guards raw SQL",
    "periods_calendar_fixed": "no service moves a period's dates; guards raw SQL",
    "periods_move_not_permitted": "the trigger alone checks the mover's privilege",
    "periods_lock_out_of_order": "entity_period_lock lets the trigger refuse (one place for the ordering rule)",
    "periods_reopen_out_of_order": "entity_period_reopen lets the trigger refuse",
    "periods_mapping_frozen": "no service edits a mapping effective in a locked period; guards raw SQL and admin",
    "periods_group_locked": "the trigger alone checks a group lock",
    "periods_override_append_only": "no service edits an override; guards raw SQL",
    "group_period_lock_unique": "the group-lock service turns the constraint's IntegrityError into its code",
    "checklist_template_name_unique": "no pre-check: the unique constraint refuses and its name maps to the code",
    "tenancy_entity_organisation_fixed": "no service moves an entity; guards raw SQL",
    "tenancy_permission_grant_refused": "the trigger alone decides who may grant",
    "sheshi_history_row_forged": "history rows are written by simple-history only; guards raw SQL",
    "audit_actor_required": "every service passes an actor; guards raw SQL",
    "audit_truncate_refused": "no service truncates; guards raw SQL",
    "audit_event_append_only": "no service edits the trail; guards raw SQL",
    "audit_chain_append_only": "no service edits the chain; guards raw SQL",
    "audit_event_out_of_scope": "row-level scope: the rule answers not_found as a missing row would",
    "audit_event_incomplete": "the capture trigger writes complete events; guards raw SQL",
    "consolidation_group_code_unique": "no pre-check: the unique constraint refuses and its name maps to the code",
    "consolidation_elimination_ledger_not_member": "the trigger alone checks membership",
    "consolidation_input_frozen": "the trigger alone checks the period's lock",
    "consolidation_run_finished": "no service updates a finished run; guards raw SQL and the admin",
    "consolidation_fx_rate_frozen": "fx_rate_create and the rates import let the trigger refuse (no service check)",
    "fx_rate_unique": "no pre-check: the unique constraint refuses and its name maps to the code",
    "group_member_no_overlap": "exclusion constraint: the database alone sees overlapping ranges",
    "group_member_ownership_valid": "the API's serializer validates ownership as input (400)",
    "adjustment_net_assets_once": "the constraint alone",
    "fx_rate_positive": "the API's serializer validates the rate as input (400)",
    "fx_rate_two_currencies": "the API's serializer validates the pair as input (400)",
    "group_member_not_own_parent": "the constraint alone",
    "adjustment_unrealised_profit_complete": "the constraint alone",
    "import_same_rows_once": "the import service's DuplicateRowsError has the same code (tests/imports)",
    # The intercompany worklist (consolidation/models/intercompany.py).
    "ic_difference_pair_unique": "the run writes each pair once; the constraint guards raw SQL and maps to the code",
    "ic_difference_is_the_sum": "the run computes the difference; the check guards raw SQL",
    "ic_difference_status_valid": "the services set only known statuses; the check guards raw SQL",
    "ic_difference_status_has_text": "the API's serializer requires the explanation or resolution as input (400)",
    "ic_comment_not_blank": "the API's serializer refuses a blank comment as input (400)",
    # The close workspace (periods/models/checklist.py, periods close records).
    "periods_close_record_append_only": "no service edits a close record; guards raw SQL",
    "reconciliation_evidence_once": "no pre-check: the unique constraint refuses and its name maps to the code",
    # Journal entries' documents and comments (ledger/sql/0023_entry_records.sql).
    "ledger_entry_record_append_only": "no service edits a document or comment; guards raw SQL",
    "entry_attachment_once": "the attach service checks first with the same code; the constraint guards raw SQL "
                             "and a concurrent attach",
    "journal_template_name_unique": "the template service checks first with the same code; the constraint guards "
                                    "raw SQL and a concurrent save",
}

# A service-side check exists but the table has no row for it yet. May only shrink.
PARITY_NOT_YET_TESTED: dict[str, str] = {}


@pytest.mark.parametrize("row", PARITY, ids=[p.rule for p in PARITY])
def test_the_service_and_the_database_give_the_same_problem(world, row):
    service, database = row.case(world)
    assert (service.code, service.status, service.title) == (database.code, database.status, database.title)
    assert (service.code, service.status) == row.expected
    assert database.context.get("constraint") == row.rule


def test_every_database_rule_is_classified():
    tables = [{p.rule for p in PARITY}, set(NO_SERVICE_CHECK), set(PARITY_NOT_YET_TESTED)]
    assert set(DB_RULES) == set().union(*tables)
    assert sum(len(t) for t in tables) == len(DB_RULES)  # each in exactly one
