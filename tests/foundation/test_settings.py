"""Production settings pass Django's deployment checks; configuration comes from the environment."""
import os
import subprocess
import sys
from pathlib import Path

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
