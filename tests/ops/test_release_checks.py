"""scripts/release.py's migration-safety check, on a scratch git repository."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.support import ROOT

spec = importlib.util.spec_from_file_location("sheshi_release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(spec)
sys.modules["sheshi_release"] = release  # dataclasses look their module up while the class is built
spec.loader.exec_module(release)

INITIAL = '''from django.db import migrations


class Migration(migrations.Migration):
    operations = [migrations.RunSQL("CREATE TABLE t (id int)", reverse_sql="DROP TABLE t")]
'''


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path):
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(INITIAL)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first release")
    git(tmp_path, "tag", "v0.1.0")
    return tmp_path


def test_released_tree_unchanged_passes(repo):
    assert release.previous_tag(repo) == "v0.1.0"
    assert release.migration_findings("v0.1.0", repo) == []


def test_editing_a_released_migration_is_refused(repo):
    path = repo / "app" / "migrations" / "0001_initial.py"
    path.write_text(INITIAL.replace("id int", "id bigint"))

    findings = release.migration_findings("v0.1.0", repo)

    assert findings == [release.Finding("app/migrations/0001_initial.py",
                                        "released in v0.1.0 and changed since: add a new migration instead")]


def test_deleting_a_released_migration_is_refused(repo):
    (repo / "app" / "migrations" / "0001_initial.py").unlink()

    assert release.migration_findings("v0.1.0", repo) == [
        release.Finding("app/migrations/0001_initial.py", "released in v0.1.0 and deleted since")]


def test_new_migrations_are_checked_for_reversibility(repo):
    migrations = repo / "app" / "migrations"
    (migrations / "0002_ok.py").write_text(
        'from django.db import migrations as m\nops = [m.RunSQL("SELECT 1", m.RunSQL.noop),\n'
        '       m.RunSQL(sql="SELECT 2", reverse_sql="SELECT 3")]\n')
    (migrations / "0003_bad.py").write_text(
        'from django.db import migrations\nops = [migrations.RunSQL("ALTER TABLE t ADD c int"),\n'
        '       migrations.RunPython(lambda apps, schema_editor: None)]\n')

    findings = release.migration_findings("v0.1.0", repo)

    assert findings == [
        release.Finding("app/migrations/0003_bad.py", "line 2: RunSQL without reverse_sql"),
        release.Finding("app/migrations/0003_bad.py", "line 3: RunPython without reverse_code", fatal=False),
    ]


def test_before_the_first_tag_only_reversibility_is_checked(tmp_path):
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_initial.py").write_text(INITIAL)
    git(tmp_path, "init", "-q")

    assert release.previous_tag(tmp_path) is None
    assert release.migration_findings(None, tmp_path) == []


def test_this_repository_passes_the_migration_safety_check():
    findings = release.migration_findings(release.previous_tag(), ROOT)
    assert [str(f) for f in findings if f.fatal] == []
