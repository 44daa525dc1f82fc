"""No project import hides inside a function to dodge a loop (issue #20): a loop between modules is
broken by the layering (.importlinter), not by importing late. Allowed: AppConfig.ready (Django's
place for start-up wiring) and the few below, each with its reason."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("sheshi", "audit", "periods", "ledger", "consolidation", "bench")
# (file, function) -> why the import is late.
ALLOWED = {
    ("sheshi/observability/hooks.py", "enqueue"):
        "sheshi.observability is imported by the settings' logging set-up, before the app registry is "
        "ready; sheshi.observability.jobs imports django-q2's signals, which import its models",
}


def function_level_imports(root: Path = ROOT) -> set[tuple[str, str, str]]:
    found = set()
    for app in PROJECT[:-1]:
        for path in (root / app).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            if "/migrations/" in rel:
                continue
            for fn in ast.walk(ast.parse(path.read_text())):
                if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.name == "ready":
                    continue
                for node in ast.walk(fn):
                    module = (node.module if isinstance(node, ast.ImportFrom) and not node.level else
                              node.names[0].name if isinstance(node, ast.Import) else None)
                    if module and module.split(".")[0] in PROJECT:
                        found.add((rel, fn.name, module))
    return found


def test_no_project_import_inside_a_function():
    late = {(rel, fn, module) for rel, fn, module in function_level_imports() if (rel, fn) not in ALLOWED}
    assert late == set(), "Import at the top of the module; a loop means a layer is wrong (docs/architecture.md)"


def test_every_allowance_is_still_needed():
    used = {(rel, fn) for rel, fn, _ in function_level_imports()}
    assert set(ALLOWED) <= used, f"Allowed late imports that are gone: {set(ALLOWED) - used}"


def test_the_walk_finds_a_late_import(tmp_path):
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "x.py").write_text("def f():\n    from periods.models import Period\n    return Period\n")
    for app in PROJECT[:-1]:
        (tmp_path / app).mkdir(exist_ok=True)
    assert function_level_imports(tmp_path) == {("ledger/x.py", "f", "periods.models")}
