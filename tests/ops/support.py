"""Helpers for the operations tests: throwaway databases on the private cluster, a temporary
install prefix driven by the real deploy scripts, and fingerprints of the data."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HOOK = DEPLOY / "hooks" / "local-processes.sh"
# Tables whose rows the framework writes during migrate (content types, permissions, the ledger of
# applied migrations): a newer release legitimately adds rows there.
MIGRATION_OWNED_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def require_ops_environment() -> None:
    missing = [c for c in ("pg_dump", "pg_restore", "psql", "curl", "git", "tar") if not shutil.which(c)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    if not os.environ.get("DATABASE_ADMIN_URL") or not os.environ.get("DATABASE_OWNER_URL"):
        pytest.skip("needs DATABASE_ADMIN_URL and DATABASE_OWNER_URL (eval \"$(python3 scripts/devdb.py env)\")")


def with_dbname(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_database():
    """A fresh database owned by the schema owner role; dropped afterwards (connections and all)."""
    admin = os.environ["DATABASE_ADMIN_URL"]
    owner_role = urllib.parse.urlsplit(os.environ["DATABASE_OWNER_URL"]).username
    name = f"ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(with_dbname(admin, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
    try:
        yield name
    finally:
        with psycopg.connect(with_dbname(admin, "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Site:
    """One temporary installation: prefix, config file, loopback port, database."""

    tmp: Path
    dbname: str
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> Path:
        return self.tmp / "prefix"

    @property
    def config(self) -> Path:
        return self.tmp / "sheshi.env"

    def url(self, var: str) -> str:
        return with_dbname(os.environ[var], self.dbname)

    def write_config(self) -> None:
        lines = {
            "DATABASE_URL": self.url("DATABASE_URL"),
            "DATABASE_JOBS_URL": self.url("DATABASE_JOBS_URL" if os.environ.get("DATABASE_JOBS_URL")
                                          else "DATABASE_URL"),
            "DATABASE_OWNER_URL": self.url("DATABASE_OWNER_URL"),
            "SHESHI_APP_DB_ROLE": os.environ.get("SHESHI_APP_DB_ROLE", "sheshi_app"),
            "SECRET_KEY": "ops-tests-only-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{self.port}",
            "SHESHI_AUDIT_SIGNING_KEY": "ops-tests-signing-key-not-secret",
            "DJANGO_SETTINGS_MODULE": "sheshi.settings.prod",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "Q_WORKERS": "1",
        }
        self.config.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))

    def env(self) -> dict[str, str]:
        # The caller's environment minus anything that would point the scripts at the test settings
        # or the test database (certificates, proxies and package-index settings pass through).
        drop_prefixes = ("DATABASE_", "DJANGO_", "SHESHI_", "Q_", "PYTEST", "VIRTUAL_ENV", "PYTHONPATH")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(drop_prefixes) and k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
        env.update({
            "SHESHI_PREFIX": str(self.prefix),
            "SHESHI_CONFIG": str(self.config),
            "SHESHI_SYSTEM": "no",
            "SHESHI_RESTART_HOOK": str(HOOK),
            "SHESHI_BIND": f"127.0.0.1:{self.port}",
            "SHESHI_WEB_WORKERS": "1",
            "SHESHI_HEALTH_URL": f"http://127.0.0.1:{self.port}/readyz",
            "SHESHI_HEALTH_TIMEOUT": "60",
        })
        env.update(self.extra_env)
        return env

    def run(self, script: str, *args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(DEPLOY / script), *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout, cwd=self.tmp)
        if check and proc.returncode != 0:
            raise AssertionError(f"{script} {' '.join(args)} exited {proc.returncode}\n{proc.stderr[-6000:]}")
        return proc

    def manage(self, *args: str, release: str | None = None) -> subprocess.CompletedProcess:
        """manage.py of a release (default: current), with the site's configuration."""
        rel = self.prefix / "releases" / release if release else (self.prefix / "current").resolve()
        env = self.env()
        for line in self.config.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        env["STATIC_ROOT"] = str(rel / "staticfiles")
        proc = subprocess.run([str(rel / "venv" / "bin" / "python"), "manage.py", *args], cwd=rel, env=env,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} exited {proc.returncode}\n{proc.stderr[-6000:]}")
        return proc

    def current(self) -> str:
        return os.path.basename(os.readlink(self.prefix / "current"))

    def readyz(self) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/readyz",
                                         headers={"X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return {"http": response.status, **json.loads(response.read())}
        except urllib.error.HTTPError as exc:
            return {"http": exc.code, **json.loads(exc.read() or b"{}")}

    def serving_release(self) -> str:
        """Which release folder the running gunicorn master was started from."""
        pid = (self.prefix / "run" / "web.pid").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        chdir = cmdline[cmdline.index(b"--chdir") + 1].decode()
        return os.path.basename(chdir)

    def stop_services(self) -> None:
        if self.prefix.exists():
            subprocess.run([str(HOOK), "stop", ""], env=self.env(), capture_output=True, timeout=60)

    def owner_conn(self) -> psycopg.Connection:
        return psycopg.connect(self.url("DATABASE_OWNER_URL"), autocommit=True)


def table_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def fingerprint(conn: psycopg.Connection, columns: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Row count and an md5 over the given columns' values, per table, in a stable order."""
    result = {}
    for table, cols in sorted(columns.items()):
        select = sql.SQL("SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                         "FROM (SELECT {} FROM {}) r").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.Identifier(table))
        count, digest = conn.execute(select).fetchone()
        result[table] = (count, digest)
    return result


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
