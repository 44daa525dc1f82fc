"""schema/rules.sql is the current text of every database rule, and every rule the SQL raises is
attacked in a test (issue #20)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from django.db import connection, transaction

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("sheshi_rules_sql", ROOT / "scripts" / "rules_sql.py")
rules_sql = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rules_sql)

pytestmark = pytest.mark.django_db

# Rules raised in the SQL that no test can trigger, each with its reason. Keep it short: a rule
# that can fire gets a raw-SQL attack in its app's tests instead.
NOT_TRIGGERABLE: dict[str, str] = {}


def test_schema_rules_sql_is_what_the_migrations_make():
    """The test database is migrated as the owner, as production is; its rules must read exactly
    as the committed file. After adding or merging a migration: `make rules-sql`, then commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        actual = rules_sql.render(cursor)
    committed = rules_sql.OUTPUT.read_text() if rules_sql.OUTPUT.exists() else ""
    if actual != committed:
        pytest.fail(
            "schema/rules.sql does not match the rules of the migrated test database. It is generated: "
            f"run `{rules_sql.REGENERATE}` (scripts/rules_sql.py migrates a throwaway database and rewrites "
            "the file; about 20 s) and commit schema/rules.sql with the migration. After a merge, run it on "
            "the merged tree rather than resolving conflicts in the file by hand.\n\n"
            + rules_sql.unified_diff(committed, actual), pytrace=False)


def test_the_rendering_does_not_depend_on_the_session_or_the_database_name():
    with transaction.atomic(), connection.cursor() as cursor:
        first = rules_sql.render(cursor)
        cursor.execute("SET LOCAL search_path = pg_temp, public, pg_catalog")  # a caller's odd path
        second = rules_sql.render(cursor)
    assert first == second
    assert connection.settings_dict["NAME"] not in first
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", first)  # no dates


def _raised_rules() -> tuple[set[str], list[str]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(rules_sql.SEARCH_PATH_SQL)
        return rules_sql.raised_rules(rules_sql.functions(cursor), rules_sql.triggers(cursor))


def _named_in_tests(names: set[str]) -> set[str]:
    """The names that occur, as a whole word, in some file under tests/ other than this one (the
    reasoned list above would otherwise count as a test)."""
    here = Path(__file__).resolve()
    texts = [path.read_text(errors="replace") for path in (ROOT / "tests").rglob("*")
             if path.is_file() and path.resolve() != here and "__pycache__" not in path.parts]
    found = set()
    for name in names:
        word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        if any(word.search(text) for text in texts):
            found.add(name)
    return found


def test_every_rule_the_sql_raises_is_named_in_a_test():
    names, unresolved = _raised_rules()
    assert len(names) > 35
    assert unresolved == [], "a RAISE whose rule name is neither a literal nor a trigger argument"
    assert set(NOT_TRIGGERABLE) <= names, set(NOT_TRIGGERABLE) - names  # no stale entries on the list
    untested = sorted(names - _named_in_tests(names) - set(NOT_TRIGGERABLE))
    assert untested == [], (f"rules raised by the current SQL (schema/rules.sql) that no file under tests/ names: "
                            f"{untested}; attack each with raw SQL as the app role (refused(...)) in the tests "
                            f"of the app that owns it, or list it in NOT_TRIGGERABLE with the reason")


def test_rule_names_given_as_trigger_arguments_are_collected():
    names, _ = _raised_rules()
    assert {"audit_event_append_only", "audit_chain_append_only"} <= names
