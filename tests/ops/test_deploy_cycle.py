"""Install → upgrade → rollback with the real deploy scripts, on this machine (issue 9).

Release A is the last commit (git archive of HEAD), release B the working tree. Both are installed
into a temporary prefix against a throwaway database on the private cluster, with gunicorn started
on a loopback port by the restart hook (no systemd here). A failing migration injected into a copy
of B must end in an automatic rollback that leaves the database exactly as it was.
"""
from __future__ import annotations

import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.ops.support import (
    MIGRATION_OWNED_TABLES,
    ROOT,
    Site,
    fingerprint,
    require_ops_environment,
    table_columns,
    throwaway_database,
)

pytestmark = pytest.mark.slow

SEED_SCRIPT = """
from django.contrib.auth import get_user_model
from sheshi.db.context import system_context
from sheshi.tenancy.models import Entity, Organisation
with system_context("ops-tests"):
    org = Organisation.objects.create(code="OPSGRP", name="Ops Test Group", group_currency="EUR")
    for code, currency, country in [("PARENT", "EUR", "DE"), ("UKSUB", "GBP", "GB"), ("USSUB", "USD", "US")]:
        Entity.objects.create(organisation=org, code=code, name=f"{code} Ltd", functional_currency=currency,
                              country=country)
    get_user_model().objects.create_user("ops-controller", password="ops-tests-password-1")
"""


def git_archive_source(tmp: Path, name: str, rev: str = "HEAD") -> tuple[Path, str]:
    """A commit as an unpacked git archive, with its sha recorded for the release name."""
    sha = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    archive = tmp / f"{name}.tar"
    subprocess.run(["git", "archive", "--format=tar", f"--output={archive}", sha], cwd=ROOT, check=True)
    src = tmp / name
    src.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    (src / "RELEASE_SHA").write_text(sha + "\n")
    return src, sha


def release_b_source(tmp: Path) -> Path:
    """Release B: the working tree, or SHESHI_OPS_RELEASE_B (a folder, or a git revision to archive)
    when the working tree is mid-edit by someone else."""
    wanted = os.environ.get("SHESHI_OPS_RELEASE_B", "")
    if not wanted:
        return ROOT
    if Path(wanted).is_dir():
        return Path(wanted)
    return git_archive_source(tmp, "release-b", wanted)[0]


def broken_copy(site: Site, src_b: Path, release_b: str) -> Path:
    """Release B plus two tenancy migrations: one that changes the schema and commits, and one
    after it that fails, so the upgrade fails with migrations half applied."""
    src = site.tmp / "release-b-broken"
    src.mkdir()
    subprocess.run(f"tar -C {src_b} -cf - --exclude=.git --exclude=.venv --exclude=var --exclude=__pycache__ "
                   f"--exclude=dist --exclude=staticfiles . | tar -C {src} -xf -", shell=True, check=True)
    leaf = site.manage("shell", "-v", "0", "-c", LEAF_SCRIPT, release=release_b).stdout.strip()
    migrations = src / "sheshi" / "tenancy" / "migrations"
    (migrations / "0901_ops_injected_change.py").write_text(f'''from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenancy", "{leaf}")]
    operations = [
        migrations.RunSQL(
            "CREATE TABLE ops_injected (id int); INSERT INTO ops_injected VALUES (1);"
            "ALTER TABLE tenancy_organisation ADD COLUMN ops_injected int NOT NULL DEFAULT 7;",
            reverse_sql="DROP TABLE ops_injected; ALTER TABLE tenancy_organisation DROP COLUMN ops_injected;",
        )
    ]
''')
    (migrations / "0902_ops_injected_failure.py").write_text('''from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0901_ops_injected_change")]
    operations = [
        migrations.RunSQL("DO $$ BEGIN RAISE EXCEPTION 'ops test: injected migration failure'; END $$;",
                          reverse_sql=migrations.RunSQL.noop)
    ]
''')
    return src


LEAF_SCRIPT = """
from django.db.migrations.loader import MigrationLoader
(leaf,) = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("tenancy")
print(leaf[1])
"""


def load_data(site: Site, release: str) -> str:
    commands = site.manage("help", "--commands", release=release).stdout.split()
    if "load_demo" in commands:
        site.manage("load_demo", "--force", release=release)  # prod settings: the demo needs --force
        return "load_demo"
    site.manage("shell", "-c", SEED_SCRIPT, release=release)
    return "shell"


def data_columns(columns: dict[str, list[str]], fp: dict) -> dict[str, list[str]]:
    """Tables holding data at release A (not the ones migrate itself fills)."""
    return {t: c for t, c in columns.items() if fp[t][0] > 0 and t not in MIGRATION_OWNED_TABLES}


def test_install_upgrade_rollback_keeps_data_and_failed_upgrade_rolls_back(tmp_path):
    require_ops_environment()
    with throwaway_database() as dbname:
        site = Site(tmp=tmp_path, dbname=dbname)
        site.write_config()
        try:
            # Install A and load data.
            src_a, sha = git_archive_source(tmp_path, "release-a")
            site.run("install.sh", "--source", str(src_a))
            release_a = f"0.1.0-{sha[:12]}"
            assert site.current() == release_a
            assert site.readyz()["status"] == "ready"
            how = load_data(site, release_a)
            with site.owner_conn() as conn:
                columns_a = table_columns(conn)
                full_a = fingerprint(conn, columns_a)
            data_a = data_columns(columns_a, full_a)
            assert "tenancy_organisation" in data_a, how
            assert full_a["tenancy_organisation"][0] >= 1

            # Upgrade to B (the working tree).
            started = time.monotonic()
            src_b = release_b_source(tmp_path)
            proc = site.run("upgrade.sh", "--source", str(src_b), "--release", "0.1.0-worktree")
            upgrade_seconds = time.monotonic() - started
            assert proc.stdout.strip().splitlines()[-1] == "0.1.0-worktree"
            assert site.current() == "0.1.0-worktree"
            assert site.serving_release() == "0.1.0-worktree"
            assert site.readyz()["status"] == "ready"
            with site.owner_conn() as conn:
                assert fingerprint(conn, data_a) == {t: full_a[t] for t in data_a}
            backups = sorted((site.prefix / "backups").glob("*.dump"))
            assert len(backups) == 1
            assert "backup: pg_dump -Fc" in proc.stderr and "health check" in proc.stderr

            # Roll back to A (code only: the schema stays, every row stays).
            proc = site.run("rollback.sh")
            assert proc.stdout.strip().splitlines()[-1] == release_a
            assert site.current() == release_a
            assert site.serving_release() == release_a
            assert site.readyz()["status"] == "ready"
            with site.owner_conn() as conn:
                assert fingerprint(conn, data_a) == {t: full_a[t] for t in data_a}
                before_failed = fingerprint(conn, table_columns(conn))

            # Upgrade to a B with a failing migration: automatic rollback, database exactly as before.
            broken = broken_copy(site, src_b, "0.1.0-worktree")
            proc = site.run("upgrade.sh", "--source", str(broken), "--release", "0.1.0-broken", check=False)
            assert proc.returncode == 1, proc.stderr[-4000:]
            assert "ops test: injected migration failure" in proc.stderr
            assert "restore done" in proc.stderr
            assert f"rolled back: {release_a} is current and healthy" in proc.stderr
            assert site.current() == release_a
            assert site.serving_release() == release_a
            assert site.readyz()["status"] == "ready"
            with site.owner_conn() as conn:
                assert fingerprint(conn, table_columns(conn)) == before_failed
                assert conn.execute("SELECT to_regclass('public.ops_injected')").fetchone() == (None,)
                assert conn.execute("SELECT count(*) FROM django_migrations WHERE name LIKE '09%%_ops_injected%%'"
                                    ).fetchone() == (0,)
            upgrades = (site.prefix / "state" / "upgrades.tsv").read_text().splitlines()
            assert [line.split("\t")[3] for line in upgrades] == ["ok", "rollback-code", "failed-rolled-back"]
            print(f"\nops figures: upgrade A->B {upgrade_seconds:.1f}s (data via {how})")
        finally:
            site.stop_services()
