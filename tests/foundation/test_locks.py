"""Row locks only through the named helpers of each app's ``locks.py`` (issue #20): no
``select_for_update`` and no raw ``FOR UPDATE`` / ``FOR SHARE`` SQL elsewhere, and every
``select_for_update`` names its own rows with ``of=`` (without it a select_related also locks the
joined rows: an import batch once locked its entity and period FOR UPDATE, holding up postings)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("sheshi", "audit", "periods", "ledger", "consolidation")
ROW_LOCK = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)
# file -> why its raw lock stays where it is.
ALLOWED_RAW = {
    "sheshi/security/management/commands/rotate_field_keys.py":
        "re-encrypts any table's encrypted columns by name, batch by batch: the lock is part of the batch's "
        "own SELECT over a table known only at run time",
}


def _sql_text(node: ast.AST) -> str | None:
    """A string constant or f-string's constant parts: the SQL a statement could run."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def lock_findings(root: Path = ROOT) -> set[tuple[str, int, str]]:
    """(file, line, what) for every row lock taken outside a locks.py module, and every
    select_for_update without ``of=`` anywhere."""
    found = set()
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if "/migrations/" in rel:  # SQL rules: reviewed in schema/rules.sql
                continue
            tree = ast.parse(path.read_text())
            docs = _docstrings(tree)
            in_locks = path.name == "locks.py"
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "select_for_update":
                    if not in_locks:
                        found.add((rel, node.lineno, "select_for_update outside locks.py"))
                    if not any(k.arg == "of" for k in node.keywords):
                        found.add((rel, node.lineno, "select_for_update without of="))
                elif id(node) not in docs and not in_locks and rel not in ALLOWED_RAW:
                    text = _sql_text(node)
                    if text and "SELECT" in text.upper() and ROW_LOCK.search(text):
                        found.add((rel, node.lineno, "raw row lock outside locks.py"))
    return found


def test_row_locks_are_taken_only_by_the_named_helpers():
    assert lock_findings() == set(), "Add a named helper to the app's locks.py (of=, the weakest mode, why)"


def test_every_allowance_still_locks_raw():
    for rel in ALLOWED_RAW:
        assert ROW_LOCK.search((ROOT / rel).read_text()), f"{rel} no longer locks: drop its allowance"


def test_the_walk_finds_inline_and_raw_locks(tmp_path):
    for app in APPS:
        (tmp_path / app).mkdir()
    (tmp_path / "ledger" / "services.py").write_text(
        '"""Docstrings may say FOR UPDATE: SELECT ... FOR SHARE is prose here."""\n'
        "def f(cur, Entry):\n"
        "    cur.execute('SELECT 1 FROM t WHERE id = %s FOR NO KEY UPDATE', [1])\n"
        "    cur.execute(f'SELECT * FROM {t} FOR SHARE')\n"
        "    return Entry.objects.select_for_update().get(pk=1)\n")
    (tmp_path / "ledger" / "locks.py").write_text(
        "def ok(Entry):\n    return Entry.objects.select_for_update(no_key=True, of=('self',))\n"
        "def bad(Entry):\n    return Entry.objects.select_for_update().select_related('entity')\n")
    assert lock_findings(tmp_path) == {
        ("ledger/services.py", 3, "raw row lock outside locks.py"),
        ("ledger/services.py", 4, "raw row lock outside locks.py"),
        ("ledger/services.py", 5, "select_for_update outside locks.py"),
        ("ledger/services.py", 5, "select_for_update without of="),
        ("ledger/locks.py", 4, "select_for_update without of="),
    }
