"""One rule, one answer (issue #15 item 6): where the service refuses something PostgreSQL also
refuses, both refusals render as the same problem (code, status, title). Before, an unbalanced
entry was 400 validation_failed from the service but 422 entry_unbalanced from the database, and a
duplicate account code 400 from the service's check but 409 from the unique constraint."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.chart import account_create
from ledger.inputs import EntryInput, LineInput
from ledger.services import journal_entry_create
from sheshi.errors import SheshiError, from_db_error

pytestmark = pytest.mark.django_db


def problem(err: SheshiError) -> tuple[str, int, str]:
    return err.code, err.status, err.title


def db_refusal(sql: str, params) -> SheshiError:
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    err = from_db_error(exc.value)
    assert err is not None, exc.value
    return err


def test_an_unbalanced_entry_gets_the_same_problem_from_the_service_and_the_database(world):
    lines = [LineInput(account_id=world.acc("1200"), amount=Decimal("10")),
             LineInput(account_id=world.acc("4100"), amount=Decimal("-9.99"))]
    with pytest.raises(SheshiError) as service:
        journal_entry_create(actor=None, entity=world.entity, entry=EntryInput(
            entry_date=world.sale("10").entry_date, description="off by a cent", lines=lines))
    draft = journal_entry_create(actor=None, entity=world.entity, entry=EntryInput(
        entry_date=world.sale("10").entry_date, description="balanced", lines=[
            LineInput(account_id=world.acc("1200"), amount=Decimal("10")),
            LineInput(account_id=world.acc("4100"), amount=Decimal("-10"))])).entry
    with connection.cursor() as cur:
        cur.execute("UPDATE ledger_journalline SET amount = -9.99, functional_amount = -9.99 "
                    "WHERE entry_id = %s AND line_no = 2", [draft.pk])
    database = db_refusal("UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s",
                          [draft.pk])
    assert problem(service.value) == problem(database) == ("entry_unbalanced", 422, "The entry does not balance.")


def test_a_taken_account_code_gets_the_same_problem_from_the_service_and_the_database(world):
    with pytest.raises(SheshiError) as service:
        account_create(actor=None, organisation_id=world.org.pk, code="1200", name="again", type="asset")
    database = db_refusal("""
        INSERT INTO ledger_account (organisation_id, code, name, kind, type, normal_balance, is_intercompany, role,
                                    is_active, created_at, updated_at)
        VALUES (%s, '1200', 'again', 'posting', 'asset', 'debit', false, '', true, now(), now())""", [world.org.pk])
    assert problem(service.value) == problem(database) == ("account_code_taken", 409,
                                                            "That account code is already used.")
