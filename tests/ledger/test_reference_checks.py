"""The ledger's references without foreign keys (ledger/sql/0008_reference_checks.sql): each one
attacked with raw SQL as the application's role against committed data, in its own transaction
that commits — so the checks made at commit run too. Each attempt must be refused with its named
rule and leave the ledger, periods and audit tables exactly as they were."""
from __future__ import annotations

import psycopg
import pytest
from django.db import connections

from tests.conftest import _conninfo
from tests.reliability.test_forbidden_ops import app, committed, refused  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("committed")

FK = "23503"  # foreign_key_violation, as a foreign key would have raised
MISSING = 999_999_999


def _line(entry: str = "%(draft)s", account: str = "%(acc_1200)s") -> str:
    return f"""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                   currency, amount, rate, functional_amount, dimensions, memo, source_raw)
               VALUES (%(org)s, %(entity)s, %(open_period)s, {entry}, 9, {account}, 'EUR', 1, 1, 1, '{{}}', '', '')"""


def _entry(**override: str) -> str:
    cols = {"organisation_id": "%(org)s", "entity_id": "%(entity)s", "period_id": "%(open_period)s",
            "created_by_id": "NULL", "source": "'manual'", "reverses_id": "NULL"} | override
    return f"""INSERT INTO ledger_journalentry ({', '.join(cols)}, entry_date, description, status, created_at,
                   request_hash)
               VALUES ({', '.join(cols.values())}, '2026-03-03', 'x', 'draft', now(), '')"""


@pytest.mark.parametrize("case, sql, constraint", [
    ("line_of_a_missing_entry", _line(entry=str(MISSING)), "ledger_line_entry_missing"),
    ("line_moved_to_a_missing_entry",
     f"UPDATE ledger_journalline SET entry_id = {MISSING} WHERE entry_id = %(draft)s", "ledger_line_entry_missing"),
    ("line_on_a_missing_account", _line(account=str(MISSING)), "ledger_line_account_missing"),
    ("line_on_another_organisations_account", _line(account="%(other_acc)s"), "ledger_line_account_missing"),
    ("line_moved_to_a_missing_account",
     f"UPDATE ledger_journalline SET account_id = {MISSING} WHERE entry_id = %(draft)s AND line_no = 1",
     "ledger_line_account_missing"),
    ("entry_of_a_missing_organisation", _entry(organisation_id=str(MISSING)), "ledger_entry_reference_missing"),
    ("entry_of_a_missing_entity", _entry(entity_id=str(MISSING)), "ledger_entry_reference_missing"),
    ("entry_in_a_missing_period", _entry(period_id=str(MISSING)), "ledger_entry_reference_missing"),
    ("entry_by_a_missing_user", _entry(created_by_id=str(MISSING)), "ledger_entry_reference_missing"),
    ("entry_reversing_a_missing_entry", _entry(source="'reversal'", reverses_id=str(MISSING)),
     "ledger_entry_reference_missing"),
    ("draft_moved_to_a_missing_period",
     f"UPDATE ledger_journalentry SET period_id = {MISSING} WHERE id = %(draft)s", "ledger_entry_reference_missing"),
    ("draft_submitted_by_a_missing_user",
     f"UPDATE ledger_journalentry SET submitted_by_id = {MISSING} WHERE id = %(draft)s",
     "ledger_entry_reference_missing"),
])
def test_a_reference_to_a_missing_row_is_refused(app, owner_sql, committed, case, sql, constraint):  # noqa: F811
    refused(app, owner_sql, sql, committed.params, sqlstate=FK, constraint=constraint)


def test_inserting_some_other_entry_does_not_clear_the_check_of_a_line_whose_entry_never_came(
        app, owner_sql, committed):  # noqa: F811
    """The entry INSERT clears only checks whose every entry id it inserted itself."""
    refused(app, owner_sql, [_line(entry=str(MISSING)), _entry(),
                             "SELECT set_config('sheshi.ledger_pending_ids', '1,2,3', true)", _entry()],
            committed.params, sqlstate=FK, constraint="ledger_line_entry_missing")


@pytest.mark.parametrize("case, sql", [
    ("account_with_lines", "DELETE FROM ledger_account WHERE id = %(acc_1200)s"),
    ("draft_entry_with_lines", "DELETE FROM ledger_journalentry WHERE id = %(draft)s"),
    ("user_who_prepared_an_entry", "DELETE FROM auth_user WHERE id = %(preparer)s"),
    ("period_with_entries", "DELETE FROM periods_period WHERE id = %(open_period)s"),
    ("entity_with_entries", "DELETE FROM tenancy_entity WHERE id = %(entity)s"),
    ("organisation_with_entries", "DELETE FROM tenancy_organisation WHERE id = %(org)s"),
])
def test_deleting_a_referenced_row_is_refused(app, owner_sql, committed, case, sql):  # noqa: F811
    refused(app, owner_sql, sql, committed.params, sqlstate=FK, constraint="ledger_reference_in_use")


@pytest.mark.parametrize("table, key", [
    ("ledger_account", "acc_1200"), ("ledger_journalentry", "draft"), ("auth_user", "preparer"),
    ("periods_period", "open_period"), ("tenancy_entity", "entity"), ("tenancy_organisation", "org"),
])
def test_the_id_of_a_referenced_row_cannot_change(app, owner_sql, committed, table, key):  # noqa: F811
    refused(app, owner_sql, f"UPDATE {table} SET id = {MISSING} WHERE id = %({key})s", committed.params,
            sqlstate=FK, constraint="ledger_reference_key_fixed")


def test_a_deletion_in_repeatable_read_is_refused_because_its_snapshot_could_miss_a_new_reference(
        app, owner_sql, committed):  # noqa: F811
    refused(app, owner_sql, ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                             "DELETE FROM ledger_account WHERE organisation_id = %(org)s AND code = '1100'"],
            committed.params, sqlstate=FK, constraint="ledger_reference_in_use", message="READ COMMITTED")


def test_a_writer_holds_the_rows_it_references_until_it_ends(app, committed):  # noqa: F811
    """Like a foreign key: a line written on an unused account locks it FOR KEY SHARE, so a
    concurrent deletion of that account waits (here: gives up after its lock timeout)."""
    p = committed.params
    cash = app.execute("SELECT id FROM ledger_account WHERE organisation_id = %s AND code = '1100'",
                       [p["org"]]).fetchone()[0]
    other = psycopg.connect(_conninfo(connections["default"].settings_dict), autocommit=True)
    try:
        other.execute("SELECT set_config('sheshi.org_ids', '*', false), "
                      "set_config('sheshi.actor_label', 'system:attacker', false)")
        with app.transaction(force_rollback=True):
            app.execute(_line(account="%(cash)s"), {**p, "cash": cash})
            with pytest.raises(psycopg.errors.LockNotAvailable), other.transaction():
                other.execute("SET LOCAL lock_timeout = '300ms'")
                other.execute("DELETE FROM ledger_account WHERE id = %s", [cash])
        with other.transaction(force_rollback=True):  # without the writer, the unused account could go
            assert other.execute("DELETE FROM ledger_account WHERE id = %s", [cash]).rowcount == 1
    finally:
        other.close()


def test_lines_written_before_their_entry_are_kept_when_the_entry_follows(app, committed):  # noqa: F811
    """The bulk path's order: lines first, the entry afterwards in the same transaction."""
    p = committed.params
    count = "SELECT count(*) FROM ledger_line_entry_pending"
    with app.transaction(force_rollback=True):
        entry_id = app.execute("SELECT nextval('ledger_journalentry_id_seq')").fetchone()[0]
        app.execute(_line(entry="%(e)s"), {**p, "e": entry_id})
        assert app.execute(count).fetchone()[0] == 1
        app.execute(_entry().replace("INSERT INTO ledger_journalentry (", "INSERT INTO ledger_journalentry (id, ")
                    .replace("VALUES (", "VALUES (%(e)s, "), {**p, "e": entry_id})
        assert app.execute(count).fetchone()[0] == 0  # cleared by the entry's own INSERT
        app.execute("SET CONSTRAINTS ALL IMMEDIATE")  # and nothing is left to fail at commit


def test_the_app_role_cannot_touch_the_pending_checks(app):  # noqa: F811
    for sql in ("INSERT INTO ledger_line_entry_pending (entry_ids) VALUES ('{1}')",
                "DELETE FROM ledger_line_entry_pending", "UPDATE ledger_line_entry_pending SET entry_ids = '{}'"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
            app.execute(sql)


def test_a_posting_waits_for_lines_being_added_to_its_draft(app, committed):  # noqa: F811
    """Lines written into a draft hold it FOR SHARE: posting it concurrently waits (here: gives up
    after its lock timeout) instead of posting without the line and leaving it unbalanced."""
    p = committed.params
    other = psycopg.connect(_conninfo(connections["default"].settings_dict), autocommit=True)
    try:
        other.execute("SELECT set_config('sheshi.org_ids', '*', false), "
                      "set_config('sheshi.actor_label', 'system:attacker', false)")
        with app.transaction(force_rollback=True):
            app.execute(_line(), p)
            with pytest.raises(psycopg.errors.LockNotAvailable), other.transaction():
                other.execute("SET LOCAL lock_timeout = '300ms'")
                other.execute("UPDATE ledger_journalentry SET status = 'posted', posted_at = now() WHERE id = %s",
                              [p["draft"]])
    finally:
        other.close()


def test_lines_for_an_entry_that_another_transaction_posts_meanwhile_are_refused(app, owner_sql, committed):  # noqa: F811
    """A writes a line for an entry id that does not exist yet; B inserts that entry as posted
    (with balanced lines of its own) and commits. B's posting could not see A's line, so A's
    commit must not attach it: the entry would no longer balance, its balances would be wrong."""
    p = dict(committed.params)
    p["x"] = owner_sql.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))").fetchone()[0]
    line = _line(entry="%(x)s", account="%(acc)s").replace(", 9,", ", %(no)s,").replace(
        "'EUR', 1, 1, 1,", "'EUR', %(amount)s, 1, %(amount)s,")
    with psycopg.connect(_conninfo(connections["default"].settings_dict), autocommit=True) as b:
        b.execute("SELECT set_config('sheshi.org_ids', '*', false), "
                  "set_config('sheshi.actor_label', 'system:attacker', false)")
        app.execute("BEGIN")
        app.execute(line, p | {"acc": p["acc_1200"], "no": 9, "amount": 1})
        with b.transaction():
            for no, acc, amount in ((1, p["acc_1200"], 5), (2, p["acc_4100"], -5)):
                b.execute(line, p | {"acc": acc, "no": no, "amount": amount})
            b.execute("""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date,
                             description, source, status, created_at, posted_at, request_hash)
                         VALUES (%(x)s, %(org)s, %(entity)s, %(open_period)s, '2026-03-03', 'b', 'manual',
                                 'posted', now(), now(), '')""", p)
        with pytest.raises(psycopg.Error) as exc:
            app.execute("COMMIT")
    assert (exc.value.sqlstate, exc.value.diag.constraint_name) == ("23000", "ledger_line_entry_not_draft")
    lines = owner_sql.execute("SELECT count(*), sum(functional_amount) FROM ledger_journalline WHERE entry_id = %s",
                              [p["x"]]).fetchone()
    assert lines == (2, 0)


def _lines_for(ids: str = "%(ids)s") -> str:
    return f"""INSERT INTO ledger_journalline (organisation_id, entity_id, period_id, entry_id, line_no, account_id,
                   currency, amount, rate, functional_amount, dimensions, memo, source_raw)
               SELECT %(org)s, %(entity)s, %(open_period)s, i, 9, %(acc_1200)s, 'EUR', 1, 1, 1, '{{}}', '', ''
                 FROM unnest({ids}::bigint[]) i"""


def _entries_for(ids: str = "%(entries)s") -> str:
    return f"""INSERT INTO ledger_journalentry (id, organisation_id, entity_id, period_id, entry_date, description,
                   source, status, created_at, request_hash)
               SELECT i, %(org)s, %(entity)s, %(open_period)s, '2026-03-03', 'x', 'manual', 'draft', now(), ''
                 FROM unnest({ids}::bigint[]) i"""


def test_entries_with_consecutive_ids_clear_the_pending_check_of_their_lines(app, committed):  # noqa: F811
    """The bulk path's shape: lines of several entries first, then the entries in one statement with
    consecutive ids; their INSERT clears the check by a range test (ledger/sql/0034)."""
    p = committed.params
    count = "SELECT count(*) FROM ledger_line_entry_pending"
    with app.transaction(force_rollback=True):
        ids = [app.execute("SELECT nextval('ledger_journalentry_id_seq')").fetchone()[0] for _ in range(3)]
        app.execute(_lines_for(), {**p, "ids": ids})
        assert app.execute(count).fetchone()[0] == 1
        app.execute(_entries_for(), {**p, "entries": ids})
        assert app.execute(count).fetchone()[0] == 0
        app.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_pending_id_outside_the_inserted_entries_range_keeps_the_check(app, committed):  # noqa: F811
    """Lines for entries a and c; the statement inserts a and b (consecutive ids, c beyond them):
    the check stays and refuses c's line at commit."""
    p = committed.params
    count = "SELECT count(*) FROM ledger_line_entry_pending"
    with app.transaction(force_rollback=True):
        a, b, c = (app.execute("SELECT nextval('ledger_journalentry_id_seq')").fetchone()[0] for _ in range(3))
        app.execute(_lines_for(), {**p, "ids": [a, c]})
        app.execute(_entries_for(), {**p, "entries": [a, b]})
        assert app.execute(count).fetchone()[0] == 1
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match=f"journal entry {c} does not exist"):
            app.execute("SET CONSTRAINTS ALL IMMEDIATE")
