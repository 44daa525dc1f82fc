"""Shared plumbing for the ledger benchmarks: a throwaway database on the private cluster,
the production role split, machine facts, load sampling and the README figures.

Every benchmark creates its own database (``bench_ledger_<kind>_<pid>``) as the cluster's
superuser, owned by the schema owner, migrated as the owner and used as the application's role,
exactly as in production. The database is dropped at the end unless ``--keep-db`` is given.
A migrated template (keyed by a hash of every migration and SQL file) makes the set-up a copy
instead of a full migrate when nothing changed.

Import this module before Django is set up: ``prepare()`` creates the database, points the
environment at it and only then calls ``django.setup()``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
TEMPLATE_PREFIX = "bench_ledger_tpl_"


# ---------------------------------------------------------------------------------------------
# Environment and throwaway database


def cluster_env() -> dict[str, str]:
    """DATABASE_URL / DATABASE_OWNER_URL / DATABASE_ADMIN_URL of the private cluster (started if
    needed by scripts/devdb.py), unless they are already in the environment."""
    keys = ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_ADMIN_URL")
    if all(os.environ.get(k) for k in keys):
        found = {k: os.environ[k] for k in (*keys, "DATABASE_JOBS_URL") if os.environ.get(k)}
        found["SHESHI_APP_DB_ROLE"] = os.environ.get("SHESHI_APP_DB_ROLE") or urlsplit(found["DATABASE_URL"]).username
        return found
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "devdb.py"), "env"], check=True,
                         capture_output=True, text=True).stdout
    return dict(re.findall(r"^export (\w+)=(.*)$", out, flags=re.M))


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _migrations_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")) + sorted(ROOT.glob("*/sql/*.sql")) + \
            sorted(ROOT.glob("sheshi/*/migrations/*.py")) + sorted(ROOT.glob("sheshi/*/sql/*.sql")) + \
            sorted(ROOT.glob("sheshi/db/*.py")):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@dataclass
class BenchDb:
    name: str
    admin_url: str
    owner_url: str
    app_url: str
    app_role: str
    keep: bool = False
    jobs_url: str = ""  # the jobs role (system scope); the app role's URL where there is none

    def admin(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.admin_url, autocommit=True, **kw)

    def owner(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.owner_url, autocommit=True, **kw)

    def jobs(self, **kw) -> psycopg.Connection:
        """A session that may take the all-organisations scope (SECURITY.md)."""
        return psycopg.connect(self.jobs_url or self.app_url, autocommit=True, **kw)

    def app(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.app_url, autocommit=True, **kw)

    def drop(self) -> None:
        if self.keep:
            print(f"kept database {self.name}")
            return
        from django.db import connections

        connections.close_all()
        with psycopg.connect(with_db(self.admin_url, "postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _migrate_into(name: str, env: dict[str, str]) -> None:
    """Run `manage.py migrate` (it switches to the owner) against database ``name``."""
    child = dict(os.environ, **{k: with_db(v, name) if k.endswith("_URL") else v for k, v in env.items()})
    child.update(bench_settings_env())
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
                   check=True, env=child, cwd=ROOT)


def create_database(kind: str, *, keep: bool = False, fresh: bool = False) -> BenchDb:
    """Create bench_ledger_<kind>_<pid>, owned by the schema owner and fully migrated."""
    env = cluster_env()
    admin_pg = with_db(env["DATABASE_ADMIN_URL"], "postgres")
    owner_role = urlsplit(env["DATABASE_OWNER_URL"]).username
    name = f"bench_ledger_{kind}_{os.getpid()}"
    template = TEMPLATE_PREFIX + _migrations_digest()
    with psycopg.connect(admin_pg, autocommit=True) as c:
        if fresh:
            c.execute(f'CREATE DATABASE "{name}" OWNER "{owner_role}"')
            _migrate_into(name, env)
        else:
            # One builder at a time per template; others wait and then copy it.
            c.execute("SELECT pg_advisory_lock(hashtext('sheshi bench template'))")
            try:
                if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone() is None:
                    print(f"building migrated template {template} (once per migration set) …", flush=True)
                    building = template + "_building"
                    c.execute(f'DROP DATABASE IF EXISTS "{building}"')
                    c.execute(f'CREATE DATABASE "{building}" OWNER "{owner_role}"')
                    _migrate_into(building, env)
                    c.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                    for (old,) in c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                                            [TEMPLATE_PREFIX + "%", template]).fetchall():
                        with contextlib.suppress(psycopg.Error):
                            c.execute(f'DROP DATABASE "{old}"')
                c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER "{owner_role}"')
            finally:
                c.execute("SELECT pg_advisory_unlock(hashtext('sheshi bench template'))")
    return BenchDb(name=name, admin_url=with_db(env["DATABASE_ADMIN_URL"], name),
                   owner_url=with_db(env["DATABASE_OWNER_URL"], name), app_url=with_db(env["DATABASE_URL"], name),
                   app_role=env["SHESHI_APP_DB_ROLE"], keep=keep,
                   jobs_url=with_db(env["DATABASE_JOBS_URL"], name) if env.get("DATABASE_JOBS_URL") else "")


def bench_settings_env() -> dict[str, str]:
    """Production settings with what a local run needs: no TLS redirect, a generated key, and a
    throttle high enough not to cap the measurement (throttling itself stays on)."""
    return {
        "DJANGO_SETTINGS_MODULE": os.environ.get("BENCH_SETTINGS", "sheshi.settings.prod"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DEBUG": "false",
        "THROTTLE_USER": "10000000/min",
        "THROTTLE_ANON": "10000000/min",
        "LOG_LEVEL": "WARNING",
        "SHESHI_AUDIT_SIGNING_KEY": os.environ.get("SHESHI_AUDIT_SIGNING_KEY") or secrets.token_hex(32),
    }


def point_django_at(db: BenchDb) -> dict[str, str]:
    """Environment for Django (this process or a child) on the throwaway database."""
    env = bench_settings_env()
    env.update({"DATABASE_URL": db.app_url, "DATABASE_OWNER_URL": db.owner_url, "DATABASE_ADMIN_URL": db.admin_url,
                "DATABASE_JOBS_URL": db.jobs_url or db.app_url,
                "SHESHI_APP_DB_ROLE": db.app_role})
    return env


def django_setup(db: BenchDb) -> None:
    """Django in this process, as a command would run: the jobs role (it builds worlds in the
    all-organisations scope). A web server started from here sets its own role (sheshi/wsgi.py)."""
    os.environ.update(point_django_at(db), SHESHI_DB_AS="jobs")
    import django

    django.setup()


AUDITABLE_TABLES = ("ledger_journalentry", "ledger_journalline", "ledger_balance")
AUDITED_BY_BENCH = ("ledger_journalentry", "ledger_journalline")


def audit_triggers(db: BenchDb) -> list[tuple[str, str]]:
    with db.owner() as c:
        return c.execute("""
            SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE NOT t.tgisinternal AND t.tgname LIKE 'audit\\_%%' AND c.relname = ANY(%s)
             ORDER BY 1, 2""", [list(AUDITABLE_TABLES)]).fetchall()


def ensure_audit(db: BenchDb) -> tuple[list[tuple[str, str]], str]:
    found = audit_triggers(db)
    if found:
        return found, "audit triggers attached by the ledger/audit migrations"
    from audit.operations import attach_audit_sql

    with db.owner() as c:
        for table in AUDITED_BY_BENCH:
            c.execute(attach_audit_sql(table)[0])
    return audit_triggers(db), ("audit triggers NOT yet attached to ledger tables by any migration: "
                                f"the bench attached audit_capture etc. to {', '.join(AUDITED_BY_BENCH)} itself")


def set_audit(db: BenchDb, triggers: list[tuple[str, str]], enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    with db.owner() as c:
        for table, name in triggers:
            c.execute(f'ALTER TABLE "{table}" {verb} TRIGGER "{name}"')



# ---------------------------------------------------------------------------------------------
# Machine facts and load


def machine(db: BenchDb | None = None) -> dict[str, str]:
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    facts = {"nproc": str(os.cpu_count()), "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
             "python": platform.python_version(), "host": platform.node()}
    if db is not None:
        with db.admin() as c:
            facts["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
            facts["pg_settings"] = ", ".join(
                f"{k}={c.execute(f'SHOW {k}').fetchone()[0]}"
                for k in ("shared_buffers", "fsync", "synchronous_commit", "max_wal_size", "work_mem"))
    return facts


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class LoadSampler:
    """Samples the 1-minute load average once a second while a measurement runs."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(loadavg())
            self._stop.wait(self.interval)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(loadavg())

    def summary(self) -> str:
        if not self.samples:
            return "n/a"
        return f"{self.samples[0]:.2f}→max {max(self.samples):.2f}"


def peak_rss_mib() -> float:
    """VmHWM of this process (peak resident set), in MiB."""
    m = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------------------------------------
# Output


@dataclass
class Report:
    """A benchmark's result: a table printed to the terminal and a section of the README."""

    title: str
    command: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)

    def table(self) -> str:
        widths = [max(len(str(c)), *(len(str(r[i])) for r in self.rows)) if self.rows else len(str(c))
                  for i, c in enumerate(self.columns)]
        line = "| " + " | ".join(str(c).ljust(w) for c, w in zip(self.columns, widths, strict=True)) + " |"
        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        body = ["| " + " | ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in self.rows]
        return "\n".join([line, sep, *body])

    def markdown(self) -> str:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        facts = "; ".join(f"{k} {v}" for k, v in self.facts.items())
        parts = [f"Command: `{self.command}`", "", f"Run: {when}; {facts}", "", self.table()]
        if self.notes:
            parts += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(parts)

    def print(self) -> None:
        print()
        print(self.title)
        print(self.table())
        for n in self.notes:
            print(f"  - {n}")


def write_readme_section(key: str, report: Report) -> None:
    """Replace (or append) the section between the markers for ``key`` in bench/ledger/README.md."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    text = README.read_text() if README.exists() else "# Ledger benchmarks\n"
    block = f"{start}\n### {report.title}\n\n{report.markdown()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)


def command_line() -> str:
    module = sys.modules["__main__"].__spec__
    name = module.name if module else sys.argv[0]
    return " ".join([".venv/bin/python -m", name, *sys.argv[1:]])


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out
