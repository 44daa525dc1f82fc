"""A frontend can use /api/v1: the TypeScript client under clients/typescript/ is installed from
its lock file, its types are generated from the live test server's /api/v1/schema/ with the
pinned openapi-typescript, ``tsc --noEmit`` checks the walk against them, and the compiled walk
signs in with an API token, creates and posts an entry, reads the trial balance and downloads a
consolidation run's board pack from that server.

Node and npm are on the machines that run ``make test``; without them the test skips and says so.
``npm ci`` runs when node_modules does not hold exactly what the lock file pins (it wipes and
reinstalls; npm's cache makes a repeat offline)."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from consolidation.models import ConsolidationGroup, ConsolidationRun, RunStatus
from consolidation.services.runs import consolidation_run_execute, consolidation_run_request
from ledger.models import JournalEntry
from ledger.selectors import reports
from periods.models import Period
from sheshi.access.services.tokens import api_token_issue
from sheshi.db.context import system_context
from tests.consolidation.helpers import CASES_DIR
from tests.factories import user_with_role
from tests.ops.support import ROOT

CLIENT = ROOT / "clients" / "typescript"
pytestmark = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                                reason="needs Node.js and npm (Node 20+): the generated TypeScript client is built "
                                       "and run with them")


def _run(*cmd: str, env: dict | None = None, timeout: int = 600) -> str:
    proc = subprocess.run(cmd, cwd=CLIENT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _install_from_lock() -> None:
    lock = hashlib.sha256((CLIENT / "package-lock.json").read_bytes()).hexdigest()
    stamp = CLIENT / "node_modules" / ".sheshi-lock-sha256"
    if stamp.exists() and stamp.read_text() == lock:
        return
    _run("npm", "ci", "--prefer-offline", "--no-audit", "--no-fund")
    stamp.write_text(lock)


@pytest.fixture
def walk_world(transactional_db):
    """The consolidation case CHAIN (P owns B owns C) with a succeeded run for 2024-12, a
    controller on P and an API token for them."""
    call_command("load_group_pack", str(CASES_DIR / "three_level_chain.json"), "--org", "CHAIN",
                 stdout=io.StringIO())
    group = ConsolidationGroup.objects.select_related("top_entity").get(organisation__code="CHAIN")
    period = Period.objects.get(organisation=group.organisation, code="2024-12")
    with system_context("test"):
        run = consolidation_run_request(actor=None, group=group, period=period)
    if ConsolidationRun.objects.get(pk=run.pk).status != RunStatus.SUCCEEDED:
        consolidation_run_execute(run_id=run.pk)
    controller = user_with_role(group.top_entity, "controller", username="frontend")
    _, token = api_token_issue(user=controller, name="typescript walk", scopes=["read", "write"])
    return group, period, token


def test_generated_typescript_client_typechecks_and_walks_the_live_api(live_server, walk_world, tmp_path):
    group, period, token = walk_world
    _install_from_lock()
    _run("npm", "run", "--silent", "generate", env={"SHESHI_SCHEMA_URL": f"{live_server.url}/api/v1/schema/"})
    assert "export interface paths" in (CLIENT / "src" / "api.d.ts").read_text()
    _run("npx", "--no-install", "tsc", "--noEmit")
    _run("npx", "--no-install", "tsc")
    out_file = tmp_path / "board-pack.xlsx"
    out = _run("node", "dist/walk.js", env={
        "SHESHI_URL": live_server.url, "SHESHI_TOKEN": token, "SHESHI_ENTITY": "P", "SHESHI_PERIOD": "2024-12",
        "SHESHI_DATE": "2024-12-15", "SHESHI_DEBIT": "1300", "SHESHI_CREDIT": "2000", "SHESHI_AMOUNT": "250.00",
        "SHESHI_OUT": str(out_file)})
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["signed in"] == "P"  # the controller's one entity
    entry = JournalEntry.objects.get(description="Typed client walk")
    # A draft submitted with If-Match = the ETag it read; the same ETag again is stale (412).
    draft = JournalEntry.objects.get(description="Typed client draft")
    assert lines["draft"] == f"id={draft.pk} draft->submitted etag=true stale=412 precondition_failed"
    assert (draft.status, draft.created_by.username) == ("submitted", "frontend")
    assert lines["entry"] == f"id={entry.pk} status=posted period=2024-12 lines=1300:250.0000,2000:-250.0000"
    assert (entry.status, entry.created_by.username, entry.entity.code) == ("posted", "frontend", "P")
    tb = reports.trial_balance(entity=entry.entity, period=period)
    inventory = next(r for r in tb.rows if r.code == "1300")
    assert inventory.net == Decimal("250.00") + _pack_inventory()
    assert lines["trial balance"] == (f"entity=P period=2024-12 debit={tb.total_debit:.4f} "
                                      f"credit={tb.total_credit:.4f} reconciles=true 1300={inventory.net:.4f}")
    run = ConsolidationRun.objects.get(group=group, status=RunStatus.SUCCEEDED)
    assert lines["board pack"] == (f"run={run.pk} group={group.code} period=2024-12 "
                                   f"bytes={out_file.stat().st_size} xlsx=true")
    assert "NCI" in load_workbook(out_file).sheetnames


def _pack_inventory() -> Decimal:
    """P's inventory (1300) as the case file loaded it, before the walk's entry."""
    import json

    case = json.loads((CASES_DIR / "three_level_chain.json").read_text())
    rows = case["trial_balances"]["P"]
    return sum((Decimal(r["amount"]) for r in rows if r["account"] == "1300"), Decimal(0))
