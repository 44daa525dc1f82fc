"""Static security lint (bandit) over the application code, configured in pyproject [tool.bandit].

A finding either gets fixed, gets ``# nosec <id>`` with a reason on its line, or is listed in
ACCEPTED below with a justification and its exact count per file. Anything new fails.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["sheshi", "ledger", "periods", "consolidation", "audit"]

ACCEPTED: dict[tuple[str, str], tuple[int, str]] = {
    ("ledger/services/bulk.py", "B608"): (1, "SQL built from the module's constant column list (LINE_COLUMNS) to "
                                             "move staged lines in; every value is bound or copied."),
    ("sheshi/db/hardening.py", "B608"): (2, "migration SQL built from the module's constants (the pinned search "
                                            "path, the inlined-function names, the trigger name); no input."),
}


def _findings() -> list[dict]:
    packages = [p for p in PACKAGES if (ROOT / p).is_dir()]
    result = subprocess.run([sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-r", *packages, "-f", "json",
                             "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [], report["errors"]
    assert report["metrics"]["_totals"]["loc"] > 1000  # it really scanned the code base
    return report["results"]


def test_bandit_reports_nothing_beyond_the_justified_exceptions():
    findings = _findings()
    counts = Counter((f["filename"], f["test_id"]) for f in findings)
    unexpected = [f"{f['filename']}:{f['line_number']} {f['test_id']} {f['issue_text']}" for f in findings
                  if counts[(f["filename"], f["test_id"])] != ACCEPTED.get((f["filename"], f["test_id"]), (0,))[0]]
    assert not unexpected, "New bandit findings (fix, `# nosec <id>` with a reason, or justify in ACCEPTED):\n" + \
        "\n".join(unexpected)
    stale = [key for key, (n, _) in ACCEPTED.items() if counts.get(key, 0) != n]
    assert not stale, f"ACCEPTED entries no longer match the code: {stale}"


def test_bandit_configuration_is_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    assert "[tool.bandit]" in text and 'skips = ["B101"]' in text
