"""Every ledger rule, attacked with raw SQL as the application's role. PostgreSQL must refuse
each attempt with its named rule, and nothing may change."""
import re
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, transaction

from ledger.models import Balance, JournalEntry, JournalLine
from ledger.services.entries import journal_entry_create, journal_entry_create_and_post
from periods.services.transitions import entity_period_soft_close
from sheshi.errors import RuleViolation
from sheshi.money import _MOST_TRADED, ISO_4217
from tests.locking import lock_through
from tests.rules import raw, refused


def snapshot():
    return (list(JournalEntry.objects.order_by("pk").values_list("pk", "status", "description")),
            list(JournalLine.objects.order_by("pk").values_list("pk", "account_id", "functional_amount")),
            list(Balance.objects.order_by("pk").values_list("pk", "functional_debit", "functional_credit")))


@pytest.fixture
def posted(world):
    return journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale("100")).entry


@pytest.fixture
def draft(world):
    return journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30")).entry


def test_updating_a_posted_line_is_refused(posted):
    before = snapshot()
    refused("ledger_line_entry_not_draft",
            "UPDATE ledger_journalline SET functional_amount = functional_amount * 2 WHERE entry_id = %s",
            [posted.pk])
    assert snapshot() == before


def test_deleting_a_posted_line_is_refused(posted):
    before = snapshot()
    refused("ledger_line_entry_not_draft", "DELETE FROM ledger_journalline WHERE entry_id = %s", [posted.pk])
    assert snapshot() == before


def test_adding_a_line_to_a_posted_entry_is_refused(world, posted):
    before = snapshot()
    refused("ledger_line_entry_not_draft", """
        INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
            currency, amount, rate, functional_amount, dimensions, memo, source_raw)
        SELECT organisation_id, entity_id, period_id, id, 9, %s, 'EUR', 1, 1, 1, '{}', '', ''
          FROM ledger_journalentry WHERE id = %s""", [world.acc("1100"), posted.pk])
    assert snapshot() == before


def test_changing_or_deleting_a_posted_entry_is_refused(posted):
    before = snapshot()
    refused("ledger_posted_entry_immutable",
            "UPDATE ledger_journalentry SET description = 'rewritten' WHERE id = %s", [posted.pk])
    refused("ledger_posted_entry_immutable",
            "UPDATE ledger_journalentry SET status = 'draft' WHERE id = %s", [posted.pk])
    refused("ledger_posted_entry_immutable", "DELETE FROM ledger_journalentry WHERE id = %s", [posted.pk])
    assert snapshot() == before


def test_posting_an_unbalanced_entry_by_sql_is_refused(world, draft):
    raw("UPDATE ledger_journalline SET amount = 31, functional_amount = 31 WHERE entry_id = %s AND line_no = 1",
        [draft.pk])
    before = snapshot()
    msg = refused("ledger_entry_unbalanced",
                  "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])
    assert f"journal entry {draft.pk} does not balance" in msg
    assert snapshot() == before


def test_inserting_an_entry_as_posted_without_lines_is_refused(world):
    before = snapshot()
    refused("ledger_entry_unbalanced", """
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, posted_at, request_hash)
        VALUES (%s, %s, %s, '2026-03-03', 'empty', 'manual', 'posted', now(), now(), '')""",
            [world.org.pk, world.entity.pk, world.period("2026-03").pk])
    assert snapshot() == before


def test_lines_on_a_group_account_cannot_post(world, draft):
    raw("UPDATE ledger_journalline SET account_id = %s WHERE entry_id = %s AND line_no = 1",
        [world.acc("1000"), draft.pk])
    refused("ledger_line_invalid",
            "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])


def test_a_line_cannot_move_to_another_organisations_account(world, draft):
    from tests.ledger.helpers import build_world

    foreign = build_world("OTHER")
    before = snapshot()
    refused("ledger_line_account_missing",
            "UPDATE ledger_journalline SET account_id = %s WHERE entry_id = %s AND line_no = 1",
            [foreign.acc("1200"), draft.pk])
    assert snapshot() == before


def test_line_copied_fields_must_agree_with_entry(world, draft):
    raw("UPDATE ledger_journalline SET entity_id = %s WHERE entry_id = %s AND line_no = 1",
        [world.other.pk, draft.pk])
    refused("ledger_line_invalid",
            "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])


def test_posting_into_a_locked_period_is_refused(world, draft):
    ep = world.entity_period("2026-03")
    with transaction.atomic():
        raw("DELETE FROM ledger_journalline WHERE entry_id = %s", [draft.pk])
        raw("DELETE FROM ledger_journalentry WHERE id = %s", [draft.pk])
    lock_through(actor=None, entity_period_id=ep.pk, reason="March closed")
    before = snapshot()
    # Inserted already posted, lines first (as the bulk path does): only the posting rule stands in the way.
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        entry_id = raw("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")[0][0]
        for no, (code, amount) in enumerate([("1200", 30), ("4100", -30)], start=1):
            raw("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                       currency, amount, rate, functional_amount, dimensions, memo, source_raw)
                   VALUES (%s, %s, %s, %s, %s, %s, 'EUR', %s, 1, %s, '{}', '', '')""",
                [world.org.pk, world.entity.pk, ep.period_id, entry_id, no, world.acc(code), amount, amount])
        raw("""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description,
                   source, status, created_at, posted_at, request_hash)
               VALUES (%s, %s, %s, %s, '2026-03-20', 'late', 'manual', 'posted', now(), now(), '')""",
            [entry_id, world.org.pk, world.entity.pk, ep.period_id])
    assert exc.value.__cause__.diag.constraint_name == "ledger_period_locked"
    assert snapshot() == before


def test_no_draft_is_created_or_changed_in_a_locked_period(world, draft):
    """Issue #15: before, drafts could be created and approved in a locked period."""
    with transaction.atomic():
        raw("DELETE FROM ledger_journalline WHERE entry_id = %s", [draft.pk])
        raw("DELETE FROM ledger_journalentry WHERE id = %s", [draft.pk])
    lock_through(actor=None, entity_period_id=world.entity_period("2026-03").pk)
    before = snapshot()
    refused("ledger_entry_in_locked_period", """
        INSERT INTO ledger_journalentry (organisation_id, entity_id, period_id, entry_date, description, source,
            status, created_at, request_hash)
        VALUES (%s, %s, %s, '2026-03-03', 'late draft', 'manual', 'draft', now(), '')""",
            [world.org.pk, world.entity.pk, world.period("2026-03").pk])
    assert snapshot() == before
    with pytest.raises(RuleViolation, match="Period 2026-03 is locked for entity"):
        journal_entry_create(actor=None, entity=world.entity, entry=world.sale("30"))
    assert snapshot() == before


def test_a_period_does_not_lock_with_unposted_entries_by_sql_either(world, draft):
    ep = world.entity_period("2026-03")
    lock_through(actor=None, entity_period_id=world.entity_period("2026-02").pk)
    before = snapshot()
    refused("ledger_lock_unposted_entries", "UPDATE periods_entityperiod SET state = 'locked' WHERE id = %s", [ep.pk])
    assert snapshot() == before


def test_posting_into_a_soft_closed_period_needs_the_close_privilege(world, draft):
    entity_period_soft_close(actor=None, entity_period_id=world.entity_period("2026-03").pk, force=True,
                             reason="draft left to attack")  # a draft open: soft-closing needs force (#15.5)
    refused("ledger_period_soft_closed",
            "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])


def test_an_entry_inserted_posted_outside_its_period_is_refused(world):
    period = world.period("2026-03")
    before = snapshot()
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        entry_id = raw("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")[0][0]
        for no, (code, amount) in enumerate([("1200", 30), ("4100", -30)], start=1):
            raw("""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                       currency, amount, rate, functional_amount, dimensions, memo, source_raw)
                   VALUES (%s, %s, %s, %s, %s, %s, 'EUR', %s, 1, %s, '{}', '', '')""",
                [world.org.pk, world.entity.pk, period.pk, entry_id, no, world.acc(code), amount, amount])
        raw("""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description,
                   source, status, created_at, posted_at, request_hash)
               VALUES (%s, %s, %s, %s, '2026-04-02', 'misdated', 'manual', 'posted', now(), now(), '')""",
            [entry_id, world.org.pk, world.entity.pk, period.pk])
    assert exc.value.__cause__.diag.constraint_name == "ledger_period_not_open"
    assert snapshot() == before


def test_entry_date_outside_its_period_is_refused(world, draft):
    before = snapshot()
    refused("ledger_entry_date_outside_period",
            "UPDATE ledger_journalentry SET entry_date = '2026-04-01' WHERE id = %s", [draft.pk])
    assert snapshot() == before


def test_approval_is_enforced_when_the_entity_requires_it(world, draft):
    raw("UPDATE tenancy_entity SET approval_required_sources = '[\"manual\"]' WHERE id = %s", [world.entity.pk])
    refused("ledger_entry_needs_approval",
            "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])


def test_preparer_cannot_be_recorded_as_approver(world, django_user_model):
    user = django_user_model.objects.create_user("prep", password="x" * 12)
    entry = journal_entry_create(actor=None, entity=world.entity, entry=world.sale("3")).entry
    raw("UPDATE ledger_journalentry SET created_by_id = %s WHERE id = %s", [user.pk, entry.pk])
    with pytest.raises(DatabaseError, match="entry_approver_not_preparer"), transaction.atomic():
        raw("UPDATE ledger_journalentry SET approved_by_id = %s WHERE id = %s", [user.pk, entry.pk])


def test_illegal_status_jump_is_refused(draft):
    refused("ledger_entry_transition_invalid",
            "UPDATE ledger_journalentry SET status = 'approved' WHERE id = %s", [draft.pk])
    assert JournalEntry.objects.get(pk=draft.pk).status == "draft"


def test_an_entry_cannot_move_to_another_entity_or_organisation(world, draft):
    from tests.ledger.helpers import build_world

    foreign = build_world("OTHER")
    owners = JournalEntry.objects.filter(pk=draft.pk).values_list("organisation_id", "entity_id")
    before = (snapshot(), list(owners))
    msg = refused("ledger_entry_entity_fixed", "UPDATE ledger_journalentry SET entity_id = %s WHERE id = %s",
                  [world.other.pk, draft.pk])
    assert msg == f"journal entry {draft.pk} cannot move to another entity"
    refused("ledger_entry_entity_fixed",
            "UPDATE ledger_journalentry SET organisation_id = %s, entity_id = %s WHERE id = %s",
            [foreign.org.pk, foreign.entity.pk, draft.pk])
    assert (snapshot(), list(owners)) == before
    assert list(owners) == [(world.org.pk, world.entity.pk)]


def test_app_role_cannot_write_balances(posted, app_sql):
    for sql in ("UPDATE ledger_balance SET functional_debit = 0",
                "DELETE FROM ledger_balance",
                "INSERT INTO ledger_balance (organisation_id, entity_id, account_id, period_id, currency, amount,"
                " functional_debit, functional_credit, line_count) VALUES (1,1,1,1,'EUR',0,0,0,0)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_sql.execute(sql)


def test_a_posting_account_cannot_have_children_and_the_tree_has_no_cycles(world):
    refused("ledger_account_parent_invalid",
            "UPDATE ledger_account SET parent_id = %s WHERE id = %s", [world.acc("1100"), world.acc("1200")])
    raw("""INSERT INTO ledger_account (organisation_id, code, name, parent_id, kind, type, normal_balance,
               is_intercompany, role, is_active, created_at, updated_at)
           VALUES (%s, '1050', 'Current assets', %s, 'group', 'asset', 'debit', false, '', true, now(), now())""",
        [world.org.pk, world.acc("1000")])
    child = raw("SELECT id FROM ledger_account WHERE code = '1050' AND organisation_id = %s", [world.org.pk])[0][0]
    refused("ledger_account_parent_invalid",
            "UPDATE ledger_account SET parent_id = %s WHERE id = %s", [child, world.acc("1000")])


def test_account_with_lines_cannot_become_a_group(world, posted):
    refused("ledger_account_kind_invalid", "UPDATE ledger_account SET kind = 'group' WHERE id = %s",
            [world.acc("1200")])


def test_balances_equal_recomputation_after_mixed_work(world):
    for amount in ("1.0001", "2", "3.5"):
        journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale(amount))
    journal_entry_create(actor=None, entity=world.entity, entry=world.sale("999"))  # draft: not in balances
    rows = raw("""
        SELECT l.account_id, sum(l.functional_amount)
          FROM ledger_journalline l JOIN ledger_journalentry e ON e.id = l.entry_id
         WHERE e.status = 'posted' GROUP BY 1 ORDER BY 1""")
    stored = raw("SELECT account_id, sum(functional_debit - functional_credit) FROM ledger_balance "
                 "GROUP BY 1 ORDER BY 1")
    assert rows == stored
    assert dict(stored)[world.acc("1200")] == Decimal("6.5001")


def test_a_zero_line_or_a_made_up_currency_is_refused_by_the_database(draft):
    before = snapshot()
    with pytest.raises(DatabaseError, match="line_not_zero"), transaction.atomic():
        raw("UPDATE ledger_journalline SET amount = 0, functional_amount = 0 WHERE entry_id = %s AND line_no = 1",
            [draft.pk])
    with pytest.raises(DatabaseError, match="line_currency_iso"), transaction.atomic():
        raw("UPDATE ledger_journalline SET currency = 'QQQ' WHERE entry_id = %s AND line_no = 1", [draft.pk])
    assert snapshot() == before


def test_the_currency_check_admits_exactly_the_iso_codes_most_traded_first(db):
    """line_currency_iso lists the most traded currencies first (PostgreSQL tests an IN list in
    order, on every line written): the same set of codes as ISO_4217, nothing more or less."""
    (definition, validated), = raw("SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                                   "WHERE conname = 'line_currency_iso'")
    assert validated and "NOT VALID" not in definition  # ledger 0030 adds it NOT VALID, then validates it
    listed = re.findall(r"'([A-Z]{3})'", definition)
    assert len(listed) == len(set(listed)) and set(listed) == ISO_4217
    assert listed[:5] == ["USD", "EUR", "JPY", "GBP", "CNY"]
    assert listed[len(_MOST_TRADED):] == sorted(ISO_4217 - set(_MOST_TRADED))


def test_a_functional_currency_line_with_a_rate_other_than_one_cannot_post(draft):
    raw("UPDATE ledger_journalline SET rate = 1.1 WHERE entry_id = %s AND line_no = 1", [draft.pk])
    before = snapshot()
    refused("ledger_line_invalid",
            "UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s", [draft.pk])
    assert snapshot() == before


def _approved_by_another(world):
    """An entry prepared by a controller and approved by someone else (issue #15 item 4)."""
    from ledger.services.entries import journal_entry_approve, journal_entry_submit
    from tests.factories import user_with_role

    controller, approver = user_with_role(world.entity, "controller"), user_with_role(world.entity, "approver")
    world.entity.approval_required_sources = ["manual"]
    world.entity.save(update_fields=["approval_required_sources"])
    entry = journal_entry_create(actor=controller, entity=world.entity, entry=world.sale("60")).entry
    journal_entry_submit(actor=controller, entry_id=entry.pk)
    journal_entry_approve(actor=approver, entry_id=entry.pk)
    return entry, controller, approver


def test_the_preparer_cannot_post_his_entry_by_sql_either(world):
    from sheshi.errors import from_db_error

    entry, controller, approver = _approved_by_another(world)
    before = snapshot()
    post = "UPDATE ledger_journalentry SET status = 'posted', posted_by_id = %s, posted_at = now() WHERE id = %s"
    raw("SELECT set_config('sheshi.actor_id', %s, true)", [str(controller.pk)])
    refused("ledger_poster_is_preparer", post, [approver.pk, entry.pk])  # acting as the preparer
    raw("SELECT set_config('sheshi.actor_id', '', true)")
    refused("ledger_poster_is_preparer", post, [controller.pk, entry.pk])  # recording him as the poster
    with pytest.raises(DatabaseError) as exc, transaction.atomic():
        raw(post, [controller.pk, entry.pk])
    assert (from_db_error(exc.value).code, from_db_error(exc.value).status) == ("poster_is_preparer", 403)
    assert snapshot() == before
    raw("SELECT set_config('sheshi.actor_id', %s, true)", [str(approver.pk)])
    raw(post, [approver.pk, entry.pk])  # someone else posts
    assert JournalEntry.objects.get(pk=entry.pk).status == "posted"


def test_the_poster_rule_follows_the_organisations_policy(world):
    entry, controller, _ = _approved_by_another(world)
    world.org.poster_not_preparer = False
    world.org.save(update_fields=["poster_not_preparer"])
    raw("SELECT set_config('sheshi.actor_id', %s, true)", [str(controller.pk)])
    raw("UPDATE ledger_journalentry SET status = 'posted', posted_by_id = %s, posted_at = now() WHERE id = %s",
        [controller.pk, entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).status == "posted"
