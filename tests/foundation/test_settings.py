"""Production settings pass Django's deployment checks; configuration comes from the environment."""
import os
import runpy
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from sheshi import __version__

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_overrides=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG",)}
    env.update(env_overrides or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides={
        "DJANGO_SETTINGS_MODULE": "sheshi.settings.prod",
        "SECRET_KEY": "p" * 20 + "Q9#kLm2$vX7@nB4&wZ1!rT6^yU3*hJ8%",
        "ALLOWED_HOSTS": "sheshi.example.com",
        "SHESHI_FIELD_KEYS": Fernet.generate_key().decode(),  # production has no default key
        "SHESHI_TRUSTED_PROXIES": "127.0.0.1,::1",  # the documented nginx in front (deploy/sheshi.env.example)
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {"DJANGO_SETTINGS_MODULE": "sheshi.settings.prod", "ALLOWED_HOSTS": "x"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k != "SECRET_KEY"}, **env}, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_version_is_semantic_and_in_the_changelog():
    parts = __version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()


@pytest.mark.django_db
def test_no_missing_migrations():
    result = run_manage("makemigrations", "--check", "--dry-run",
                        env_overrides={"DJANGO_SETTINGS_MODULE": "sheshi.settings.test"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_commands_connect_as_the_jobs_role_and_the_web_as_the_web_role(monkeypatch):
    """manage.py sends every command but the web servers to DATABASE_JOBS_URL (the only role whose
    sessions may take the all-organisations scope); wsgi never sets SHESHI_DB_AS, so the web uses
    DATABASE_URL."""
    from sheshi.env import app_database_config

    monkeypatch.setenv("DATABASE_URL", "postgres://web_role@db.example:5432/sheshi")
    monkeypatch.setenv("DATABASE_JOBS_URL", "postgres://jobs_role@db.example:5432/sheshi")
    seen = {}
    monkeypatch.setattr("django.core.management.execute_from_command_line",
                        lambda argv: seen.setdefault(argv[1], app_database_config()["USER"]))
    for command in ("qcluster", "runserver", "verify_audit"):
        monkeypatch.delenv("SHESHI_DB_AS", raising=False)
        monkeypatch.setattr(sys, "argv", ["manage.py", command])
        runpy.run_path(str(Path(__file__).resolve().parents[2] / "manage.py"), run_name="__main__")
    assert seen == {"qcluster": "jobs_role", "runserver": "web_role", "verify_audit": "jobs_role"}
    monkeypatch.delenv("SHESHI_DB_AS", raising=False)
    assert app_database_config()["USER"] == "web_role"


def test_check_deploy_warns_when_the_application_validation_is_switched_off():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides={
        "DJANGO_SETTINGS_MODULE": "sheshi.settings.prod",
        "SECRET_KEY": "p" * 20 + "Q9#kLm2$vX7@nB4&wZ1!rT6^yU3*hJ8%",
        "ALLOWED_HOSTS": "sheshi.example.com",
        "SHESHI_FIELD_KEYS": Fernet.generate_key().decode(),
        "SHESHI_TRUSTED_PROXIES": "127.0.0.1,::1",
        "SHESHI_UNSAFE_SKIP_APP_VALIDATION": "1",
    })
    assert result.returncode == 1, result.stdout + result.stderr
    assert "(sheshi.W005) SHESHI_UNSAFE_SKIP_APP_VALIDATION is on" in result.stderr
    assert "1 issue" in result.stderr  # that warning and nothing else


def test_the_ledger_reads_the_skip_validation_setting_when_it_checks_not_at_import():
    from django.test import override_settings

    from ledger.errors import EntryDateOutsidePeriodError
    from ledger.services.entries import _writable_period_check

    march = SimpleNamespace(pk=1, code="2026-03", start_date=date(2026, 3, 1), end_date=date(2026, 3, 31))
    with pytest.raises(EntryDateOutsidePeriodError):
        _writable_period_check(SimpleNamespace(pk=1, code="E1"), march, date(2026, 4, 1))
    with override_settings(SHESHI_UNSAFE_SKIP_APP_VALIDATION=True):
        assert _writable_period_check(SimpleNamespace(pk=1, code="E1"), march, date(2026, 4, 1)) is None
