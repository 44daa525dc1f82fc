"""The apps depend in one direction and each app inside runs interface -> services -> selectors ->
models (issue #20). The contracts are in .importlinter; docs/architecture.md explains the order.
On the code before #20 the app order broke 13 times (periods -> ledger, sheshi -> audit/ledger/consolidation)."""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Modules that are the way in (admin, API, jobs, commands, demo data, URL roots, the auditor's
# export): they sit on top of every app's core and may import any of them.
INTERFACE = re.compile(r"(^|\.)(admin(_\w+)?|api|tasks|management|demo|urls|evidence)(\.|$)")


def test_import_contracts_hold():
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                             "lint_imports_command()", "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_only_interface_modules_are_exempt_from_the_app_order():
    """An exemption for a core module would let a loop back in unnoticed."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    ignored = [line.split("->")[0].strip()
               for line in config["importlinter:contract:apps"]["ignore_imports"].strip().splitlines()]
    assert ignored, "the app-order contract lists its exemptions"
    assert [source for source in ignored if not INTERFACE.search(source)] == []
