"""The database rules keep the apps' order too (issue #20): a trigger function of a lower app does not
read a higher app's tables, except where named below with the reason; nor does the SQL a lower app's
core modules send (an import-linter contract cannot see a table name in a string).

The order is the one of the Python layers (.importlinter, docs/architecture.md): the kernel
(tenancy, access, sheshi_*) <- audit <- periods <- ledger <- consolidation. The current text of every
function is schema/rules.sql (checked against the migrations by test_rules_sql.py).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "schema" / "rules.sql"
# The way-in modules sit above every app (.importlinter) and may read any table.
INTERFACE = re.compile(r"(^|/)(admin(_\w+)?|api|tasks|management|demo|urls|evidence)(/|\.py$)")
RANK = {"sheshi": 0, "tenancy": 0, "access": 0, "audit": 1, "periods": 2, "ledger": 3, "consolidation": 4}

# (function, table it reads) -> why a lower app's rule may read it.
NAMED_EXCEPTIONS = {
    ("periods_entity_period_guard", "ledger_journalentry"):
        "an entity-period may be deleted only while open and empty; entries point at the entity and the period, "
        "not at the entity-period row, so no foreign key refuses it. The rule reads the ledger's table, never "
        "writes it.",
    ("sheshi_history_append", "ledger_historicaljournalentry"):
        "the history entry point writes every history table by the name its caller gives; the journal entry's "
        "history, written on every single posting, has a static path (no catalogue look-ups, no dynamic SQL: "
        "0.78 -> 0.21 ms a call, sheshi/tenancy/sql/0009_hot_entry_points.sql). It writes that table only when "
        "the ledger's own save asks for it, and checks the rows as for every other table.",
}


def _functions(text: str) -> dict[str, str]:
    """name -> body of each function in the Functions section, comments and string literals removed
    (a rule's message or constraint name is not a read of a table)."""
    section = text.split("-- Triggers (", 1)[0]
    parts = re.split(r"^-- (\w+)\(.*\)\s*$", section, flags=re.M)
    bodies = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        body = re.sub(r"--[^\n]*", "", body)
        bodies[name] = re.sub(r"'(?:[^']|'')*'", "''", body)
    return bodies


def _reads_upward(tables: set[str]) -> set[tuple[str, str]]:
    found = set()
    for name, body in _functions(RULES.read_text()).items():
        own = RANK.get(name.split("_", 1)[0])
        assert own is not None, f"{name}: a rule function named for no app (prefix one of {sorted(RANK)})"
        for table in set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", body)) & tables:
            if RANK.get(table.split("_", 1)[0], 0) > own:
                found.add((name, table))
    return found


@pytest.mark.django_db
def test_no_rule_of_a_lower_app_reads_a_higher_apps_tables():
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    upward = _reads_upward(tables)
    assert upward <= set(NAMED_EXCEPTIONS), ("Rules reading a higher app's tables (move the rule up, or name the "
                                             f"exception): {upward - set(NAMED_EXCEPTIONS)}")
    assert set(NAMED_EXCEPTIONS) <= upward, f"Named exceptions that no longer hold: {set(NAMED_EXCEPTIONS) - upward}"


def test_the_check_sees_a_rule_reading_upward():
    """The parser finds a read through a join in a function body, and not a table named in a message."""
    text = ("-- audit_example()\nCREATE FUNCTION audit_example() AS $$ SELECT 1 FROM audit_event e "
            "JOIN ledger_journalentry j ON true; RAISE 'consolidation_consolidationrun'; $$;\n-- Triggers (0)\n")
    bodies = _functions(text)
    assert set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", bodies["audit_example"])) >= {"audit_event", "ledger_journalentry"}
    assert "consolidation_consolidationrun" not in bodies["audit_example"]


def _python_reads_upward(tables: set[str]) -> set[tuple[str, str]]:
    found = set()
    for app, own in RANK.items():
        base = ROOT / ("sheshi" if own == 0 else app)
        if app in ("tenancy", "access") or not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or INTERFACE.search(rel):
                continue
            tree = ast.parse(path.read_text())
            docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)
                          and isinstance(n.value, ast.Constant)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    for table in set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", node.value)) & tables:
                        if RANK.get(table.split("_", 1)[0], 0) > own:
                            found.add((rel, table))
    return found


@pytest.mark.django_db
def test_no_core_module_of_a_lower_app_queries_a_higher_apps_tables():
    """The close read ledger_balance and consolidation runs in raw SQL from periods; the ledger and
    consolidation now answer through periods/books.py and periods/ic_sources.py."""
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    assert _python_reads_upward(tables) == set()
