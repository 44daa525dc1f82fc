"""Configuration from the environment only (12-factor). Nothing secret has a default here."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from sheshi.security.secrets import get_secret

env = environ.Env()


def database_config(url_var: str = "DATABASE_URL") -> dict:
    """Django DATABASES entry for a postgres:// URL (the environment, or the secrets provider:
    sheshi/security/secrets.py); psycopg 3, server-side binding off."""
    config = env.db_url_config(get_secret(url_var))
    config["ENGINE"] = "django.db.backends.postgresql"
    config.setdefault("OPTIONS", {})
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    config["ATOMIC_REQUESTS"] = False
    return config


def app_database_config(as_jobs: bool | None = None) -> dict:
    """The process's own connection: the jobs role (DATABASE_JOBS_URL) for workers and management
    commands (SHESHI_DB_AS=jobs, set by manage.py), the web role (DATABASE_URL) otherwise. Without
    DATABASE_JOBS_URL everything uses DATABASE_URL."""
    web = database_config("DATABASE_URL")
    if as_jobs is None:
        as_jobs = env.str("SHESHI_DB_AS", default="web") == "jobs"
    if as_jobs and get_secret("DATABASE_JOBS_URL", ""):
        jobs = database_config("DATABASE_JOBS_URL")
        where = ("HOST", "PORT", "NAME")
        if [jobs.get(k) for k in where] != [web.get(k) for k in where]:
            # A jobs URL left pointing at another database would run commands (migrate, imports)
            # against it while the web serves this one.
            raise ImproperlyConfigured("DATABASE_JOBS_URL must name the same host, port and database as "
                                       "DATABASE_URL (only the role differs).")
        return jobs
    return web


def owner_database_config() -> dict:
    """The migration owner's connection: DATABASE_OWNER_URL, or the app's own URL when a
    deployment does not split the roles (then the role-split guarantees do not hold)."""
    if get_secret("DATABASE_OWNER_URL", ""):
        return database_config("DATABASE_OWNER_URL")
    return database_config("DATABASE_URL")


def metrics_dir_config(configured: str) -> str:
    """The folder prometheus_client's multiprocess mode shares between processes, exported as
    PROMETHEUS_MULTIPROC_DIR. The settings call this, because the library picks its storage when it
    is first imported (django-q2 imports it while the apps load, before sheshi.observability does).

    SHESHI_METRICS_DIR (deployments: a tmpfs folder every process on the host uses) is created if
    missing and wiped at start when all its files belong to dead processes. Unset (development,
    tests), each process tree gets a private temp folder, new and so empty, removed at exit; its
    forked children (qcluster workers) share it. An inherited PROMETHEUS_MULTIPROC_DIR is replaced:
    a spawned child of a process with a private folder makes its own."""
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        _metrics_dir_wipe_if_stale(folder)
    else:
        folder = Path(tempfile.mkdtemp(prefix="sheshi-metrics-"))
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return str(folder)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: running
    return True


def _metrics_dir_wipe_if_stale(folder: Path) -> None:
    """prometheus_client writes <type>_<pid>.db per process and sums every file, dead processes'
    included, so counters keep growing after a worker is recycled. Files are removed only when no
    process that wrote one is still running (a start of everything on the host: Prometheus reads a
    counter reset, which rate() handles); removing only the dead ones while others run would make
    the sums drop part-way, which rate() would misread as a reset followed by a burst."""
    files = list(folder.glob("*.db"))
    # Our own pid on a file means an earlier process had it (this runs before we write anything).
    pids = {path.stem.rpartition("_")[2] for path in files} - {str(os.getpid())}
    if any(not pid.isdigit() or _pid_running(int(pid)) for pid in pids):
        return
    for path in files:
        path.unlink(missing_ok=True)
