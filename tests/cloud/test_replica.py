"""Report reads on a real streaming replica of the private cluster (pg_basebackup -R, another port).

A child process runs with DATABASE_REPLICA_URL set, as a deployment would: it posts entries on the
primary and reads trial balances, which go to the replica once it has replayed the write; with
replay paused the read waits (bounded) and then goes to the primary; with the replica stopped mid-run
reads fall back to the primary. Every read must include the caller's own just-committed posting."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("replica_helper", ROOT / "scripts" / "replica.py")
replica_helper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(replica_helper)

CHILD = r"""
import json, os, subprocess, sys
from decimal import Decimal
import django
django.setup()
import psycopg
from sheshi.db import replica
from sheshi.db.context import ALL_ORGS, set_context
from ledger.selectors.reports import trial_balance
from ledger.services.entries import journal_entry_create_and_post
from periods.models import Period
from tests.ledger.helpers import build_world

set_context({"sheshi.org_ids": ALL_ORGS, "sheshi.actor_id": "", "sheshi.actor_label": "system:replica-test"})
world = build_world("REPL")
period = Period.objects.get(organisation=world.org, code="2026-03")
replica_admin = os.environ["REPLICA_ADMIN_CONNINFO"]
out = []

def step(name, amount):
    journal_entry_create_and_post(actor=None, entity=world.entity, entry=world.sale(amount))
    before = dict(replica.ROUTES)
    tb = trial_balance(entity=world.entity, period=period)
    routes = {k: v - before.get(k, 0) for k, v in replica.ROUTES.items() if v != before.get(k, 0)}
    out.append({"step": name, "debit": str(tb.total_debit), "routes": routes})

step("replica_up", "42")
with psycopg.connect(replica_admin, autocommit=True) as admin:
    admin.execute("SELECT pg_wal_replay_pause()")
    step("replay_paused", "10")
    admin.execute("SELECT pg_wal_replay_resume()")
step("replay_resumed", "5")
from consolidation.selectors.runs import member_trial_balances
before = dict(replica.ROUTES)
rows = member_trial_balances(organisation_id=world.org.pk, entity_ids=[world.entity.pk], period=period)
out.append({"step": "consolidation_inputs", "routes": {k: v - before.get(k, 0) for k, v in replica.ROUTES.items()
                                                       if v != before.get(k, 0)},
            "debit": str(sum(r[3] for r in rows if r[3] > 0))})

# An evidence archive (#19): decided once, then every dataset read on the replica in one snapshot;
# the primary runs only the decision's queries while the archive is written, then records the export.
import io, zipfile
from django.db import connections, transaction
from audit.evidence import archive
from audit.models import AuditChainHead, AuditEvent
from sheshi.money import quantize_amount
from tests.audit.evidence_world import read_json
sql = {"default": [], replica.REPLICA: []}
def watch(alias):
    def spy(execute, statement, params, many, context):
        sql[alias].append(statement)
        return execute(statement, params, many, context)
    return spy
write = archive.evidence_archive_write
def write_watched(**kwargs):
    with connections["default"].execute_wrapper(watch("default")), \
         connections[replica.REPLICA].execute_wrapper(watch(replica.REPLICA)):
        return write(**kwargs)
archive.evidence_archive_write = write_watched
buf = io.BytesIO()
head_before = AuditChainHead.objects.get(organisation_id=world.org.pk).seq
before = dict(replica.ROUTES)
export = archive.audit_evidence_export(scope=archive.evidence_scope(organisation=world.org, period="2026-03"),
                                       out=buf, generated_by="replica-test")
routes = {k: v - before.get(k, 0) for k, v in replica.ROUTES.items() if v != before.get(k, 0)}
with transaction.atomic():  # the primary's figures: a report inside a transaction reads there
    tb = trial_balance(entity=world.entity, period=period)
with zipfile.ZipFile(buf) as zf:
    totals = read_json(zf, "trial_balance_totals")
    rows = read_json(zf, "trial_balances")
out.append({
    "step": "evidence_export", "routes": routes,
    "primary_sql": sql["default"], "replica_queries": len(sql[replica.REPLICA]),
    "archive_totals": [[t["total_debit"], t["total_credit"]] for t in totals if t["entity"] == world.entity.code],
    "primary_totals": [[str(quantize_amount(tb.total_debit)), str(quantize_amount(tb.total_credit))]],
    "archive_rows": sorted([r["account_code"], r["debit"], r["credit"]] for r in rows
                           if r["entity"] == world.entity.code),
    "primary_rows": sorted([r.code, str(quantize_amount(r.debit)), str(quantize_amount(r.credit))] for r in tb.rows),
    "head_before": head_before, "manifest_head": export.manifest["audit_chain"]["head_seq"],
    "chain_intact": export.manifest["audit_chain"]["intact"],
    "event_on_primary": AuditEvent.objects.filter(pk=export.event_id, action="evidence.exported").exists(),
})
subprocess.run(json.loads(os.environ["REPLICA_STOP"]), check=True, capture_output=True)
step("replica_stopped", "3")
step("still_stopped", "1")
print(json.dumps(out))
"""


@pytest.fixture
def streaming_replica():
    """A hot standby of the private cluster on its own port (scripts/replica.py); removed afterwards."""
    url = os.environ.get("DATABASE_ADMIN_URL", "")
    if not url or not os.environ.get("DATABASE_URL"):
        pytest.skip('needs the private cluster: eval "$(python3 scripts/devdb.py env)"')
    if not replica_helper.available():
        pytest.skip("needs pg_basebackup")
    with replica_helper.streaming_replica(urllib.parse.urlsplit(url).port) as replica:
        yield replica


def _with(url: str, *, port: int | None = None, dbname: str | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc if port is None else parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, path=f"/{dbname}" if dbname else parts.path))


def test_report_reads_go_to_the_replica_when_it_has_replayed_and_to_the_primary_otherwise(streaming_replica):
    name = connection.settings_dict["NAME"]
    # The test profile connects as the jobs role when there is one (sheshi/settings/test.py): the
    # replica is read with the same role, so the copied context means the same thing there.
    app_url = os.environ.get("DATABASE_JOBS_URL") or os.environ["DATABASE_URL"]
    env = {k: v for k, v in os.environ.items() if k != "Q_SYNC"}
    env.update({
        "DJANGO_SETTINGS_MODULE": "sheshi.settings.test",
        "DATABASE_URL": _with(app_url, dbname=name),
        "DATABASE_JOBS_URL": _with(app_url, dbname=name),
        "DATABASE_REPLICA_URL": _with(app_url, port=streaming_replica["port"], dbname=name),
        "SHESHI_REPLICA_MAX_WAIT_MS": "1500",
        "REPLICA_ADMIN_CONNINFO": _with(os.environ["DATABASE_ADMIN_URL"], port=streaming_replica["port"],
                                        dbname=name),
        "REPLICA_STOP": json.dumps(streaming_replica["stop"]),
        "LOG_LEVEL": "CRITICAL",
    })
    with psycopg.connect(env["REPLICA_ADMIN_CONNINFO"]) as standby:
        assert standby.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True  # a real hot standby
    result = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = {s["step"]: s for s in json.loads(result.stdout.strip().splitlines()[-1])}
    # Two report queries per trial balance (leaves, tree), each routed on its own.
    assert steps["replica_up"]["routes"] == {"replica": 2} and steps["replica_up"]["debit"] == "42.0000"
    assert steps["replay_paused"]["routes"] == {"primary:lag": 2} and steps["replay_paused"]["debit"] == "52.0000"
    assert steps["replay_resumed"]["routes"] == {"replica": 2} and steps["replay_resumed"]["debit"] == "57.0000"
    # A consolidation run's member balances (#19): the same routing, the same figures.
    assert steps["consolidation_inputs"]["routes"] == {"replica": 1}
    assert steps["consolidation_inputs"]["debit"] == "57.0000"
    # The evidence archive (#19): one decision, then every dataset on the replica in one snapshot.
    ev = steps["evidence_export"]
    assert ev["routes"] == {"replica": 1}
    assert len(ev["primary_sql"]) == 2 and "pg_current_wal_lsn" in ev["primary_sql"][0]  # the decision only
    assert ev["replica_queries"] > 10
    assert ev["archive_totals"] == ev["primary_totals"]
    assert ev["archive_totals"][0][0] == "57.0000"
    assert ev["archive_rows"] == ev["primary_rows"] and ev["archive_rows"]
    assert ev["manifest_head"] == ev["head_before"] and ev["chain_intact"] is True
    assert ev["event_on_primary"] is True
    assert steps["replica_stopped"]["routes"] == {"primary:replica_unavailable": 2}
    assert steps["replica_stopped"]["debit"] == "60.0000"
    assert steps["still_stopped"]["routes"] == {"primary:replica_unavailable": 2}
    assert steps["still_stopped"]["debit"] == "61.0000"
