"""The system under test, on loopback: a throwaway database on the private cluster, gunicorn with
several workers and a django-q2 cluster, the web workers reaching PostgreSQL through CutProxy.

Every process is started by us, in its own process group, and stopped by its id. Nothing here
listens anywhere but 127.0.0.1.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
IMPORT_INLINE_MAX_BYTES = 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_db(url: str, name: str, port: int | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc if port is None else f"{parts.netloc.rsplit(':', 1)[0]}:{port}"
    return urllib.parse.urlunsplit(parts._replace(path="/" + name, netloc=netloc))


def migrations_digest() -> str:
    """Digest of everything that shapes the schema: migrations and the SQL files they load."""
    h = hashlib.sha256()
    files = sorted(p for pattern in ("*/migrations/*.py", "*/*/migrations/*.py", "*/sql/*.sql")
                   for p in ROOT.glob(pattern) if ".venv" not in p.parts)
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def require_cluster_env() -> dict[str, str]:
    missing = [k for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL") if not os.environ.get(k)]
    if missing:
        raise SystemExit(f"needs {', '.join(missing)}: run  eval \"$(python3 scripts/devdb.py env)\"  first")
    for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL"):
        if urllib.parse.urlsplit(os.environ[k]).hostname not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"{k} must point at the private cluster on loopback")
    # The jobs role (worker, commands) where the cluster has one; otherwise the app role.
    jobs = os.environ.get("DATABASE_JOBS_URL") or os.environ["DATABASE_URL"]
    return {**{k: os.environ[k] for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL")},
            "DATABASE_JOBS_URL": jobs}


@dataclass
class Stack:
    """Database, environment and processes of one run."""

    urls: dict[str, str]
    workers: int = 3
    unsafe: bool = False
    log_dir: Path = field(default_factory=lambda: ROOT / "var" / "reliability")
    dbname: str = field(default_factory=lambda: f"rel_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    web_port: int = field(default_factory=free_port)
    proxy_port: int = 0
    gunicorn: subprocess.Popen | None = None
    qcluster: subprocess.Popen | None = None
    _logs: list = field(default_factory=list)

    # --- database --------------------------------------------------------------------------------

    @property
    def pg_port(self) -> int:
        return urllib.parse.urlsplit(self.urls["DATABASE_URL"]).port or 5432

    def url(self, which: str, *, via_proxy: bool = False) -> str:
        return with_db(self.urls[which], self.dbname, self.proxy_port if via_proxy else None)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("DATABASE_ADMIN_URL"), autocommit=True)

    def owner(self) -> psycopg.Connection:
        return psycopg.connect(self.url("DATABASE_OWNER_URL"), autocommit=True)

    def create_database(self, *, use_template: bool = True) -> str:
        """Create the run's database. Migrating takes a minute on a busy machine, so by default a
        migrated template is kept on the private cluster per digest of every migration and rule
        file, and each run clones it (a file copy, about a second). Returns how it was made."""
        owner_role = sql.Identifier(urllib.parse.urlsplit(self.urls["DATABASE_OWNER_URL"]).username)
        name = self.dbname
        if not use_template:
            with self._postgres() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), owner_role))
            self.manage("migrate", "--no-input")
            return "migrated"
        template = f"rel_tmpl_{migrations_digest()[:16]}"
        with self._postgres() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('sheshi-reliability-template'))")
            made = "cloned"
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
                for (old,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'rel\\_tmpl\\_%%' "
                                           "AND datname <> %s", [template]).fetchall():
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(old)))
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(template), owner_role))
                self.dbname = template
                try:
                    self.manage("migrate", "--no-input")
                except subprocess.CalledProcessError:
                    conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
                    raise
                finally:
                    self.dbname = name
                made = "migrated into a new template"
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), owner_role))
            conn.execute("SELECT pg_advisory_unlock(hashtext('sheshi-reliability-template'))")
        return made

    def _postgres(self) -> psycopg.Connection:
        return psycopg.connect(with_db(self.urls["DATABASE_ADMIN_URL"], "postgres"), autocommit=True)

    def drop_database(self) -> None:
        with self._postgres() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))
        shutil.rmtree(self.media_root, ignore_errors=True)

    @property
    def media_root(self) -> Path:
        return self.log_dir / f"{self.dbname}-media"

    # --- environment -----------------------------------------------------------------------------

    def env(self, *, via_proxy: bool = False) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SHESHI_UNSAFE"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "sheshi.settings.prod",
            "SECRET_KEY": self._secret,
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": self.url("DATABASE_URL", via_proxy=via_proxy),
            "DATABASE_JOBS_URL": self.url("DATABASE_JOBS_URL", via_proxy=via_proxy)
            if "DATABASE_JOBS_URL" in self.urls else self.url("DATABASE_URL", via_proxy=via_proxy),
            "DATABASE_OWNER_URL": self.url("DATABASE_OWNER_URL"),
            "DATABASE_ADMIN_URL": self.url("DATABASE_ADMIN_URL"),
            "SHESHI_APP_DB_ROLE": urllib.parse.urlsplit(self.urls["DATABASE_URL"]).username or "",
            "SHESHI_AUDIT_SIGNING_KEY": "reliability-run-not-secret",
            "THROTTLE_USER": "1000000/min",
            "THROTTLE_ANON": "1000000/min",
            "Q_SYNC": "false",
            "Q_WORKERS": "2",
            # Short enough that a job lost with a killed worker is handed out again within the run.
            "Q_TIMEOUT": "6",
            "Q_RETRY": "9",
            "LOG_LEVEL": "WARNING",
            # Uploaded files of this run only; the importers' larger files run as django-q2 jobs.
            "MEDIA_ROOT": str(self.media_root),
            # Anchors bind one database: this run's own folder (earlier runs anchored other databases).
            "SHESHI_AUDIT_ANCHOR_DIR": str(self.media_root / "audit-anchors"),
            "SHESHI_IMPORT_INLINE_MAX_BYTES": str(IMPORT_INLINE_MAX_BYTES),
            "PYTHONPATH": str(ROOT),
        })
        if self.unsafe:
            env["SHESHI_UNSAFE_SKIP_APP_VALIDATION"] = "1"
        return env

    @property
    def _secret(self) -> str:
        if not hasattr(self, "_secret_value"):
            self._secret_value = secrets.token_urlsafe(50)
        return self._secret_value

    def manage(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True,
                              text=True, timeout=timeout, check=check)

    # --- processes -------------------------------------------------------------------------------

    def _log(self, name: str):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        f = open(self.log_dir / f"{self.dbname}-{name}.log", "ab")  # noqa: SIM115 (closed in stop())
        self._logs.append(f)
        return f

    def start_gunicorn(self) -> None:
        self.gunicorn = subprocess.Popen(
            [GUNICORN, "sheshi.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}", "--workers",
             str(self.workers), "--timeout", "30", "--graceful-timeout", "5", "--access-logfile", "-",
             # The default control socket is one path per user: shared with any other gunicorn here.
             "--no-control-socket"],
            cwd=ROOT, env=self.env(via_proxy=True), stdout=self._log("gunicorn"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def start_qcluster(self) -> None:
        self.qcluster = subprocess.Popen([PYTHON, "manage.py", "qcluster"], cwd=ROOT, env=self.env(),
                                         stdout=self._log("qcluster"), stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def gunicorn_workers(self) -> list[int]:
        if self.gunicorn is None:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.gunicorn.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def web_ok(self, token: str, timeout: float = 5) -> bool:
        import requests

        with contextlib.suppress(requests.RequestException):
            r = requests.get(f"http://127.0.0.1:{self.web_port}/api/v1/entities/",
                             headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
            return r.status_code == 200
        return False

    def wait_web(self, token: str, timeout: float = 120) -> float:
        """Wait until every worker has booted and the API answers a few requests in parallel (a
        worker loads the URLconf on its first request); returns the seconds waited."""
        from concurrent.futures import ThreadPoolExecutor

        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.gunicorn is not None and self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.gunicorn.returncode}; see {self.log_dir}")
            if len(self.gunicorn_workers()) >= self.workers and self.web_ok(token):
                with ThreadPoolExecutor(self.workers * 2) as pool:
                    if all(pool.map(lambda _: self.web_ok(token, 30), range(self.workers * 4))):
                        return time.time() - t0
            time.sleep(0.2)
        raise RuntimeError("the web server did not come up")

    def kill_qcluster(self) -> None:
        """kill -9 the cluster and every process it forked (its own process group)."""
        if self.qcluster is not None and self.qcluster.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.qcluster.pid, signal.SIGKILL)
            self.qcluster.wait(10)

    def stop(self) -> None:
        for proc in (self.gunicorn, self.qcluster):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.gunicorn, self.qcluster):
            if proc is None:
                continue
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        for f in self._logs:
            f.close()
        self._logs.clear()
