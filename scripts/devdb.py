#!/usr/bin/env python3
"""Start (or reuse) Sheshi's private PostgreSQL cluster and print the connection settings.

Used by `make run` and `make test` when no DATABASE_URL is given. It only needs the
local server binaries (initdb/pg_ctl); it installs Debian's `postgresql` package with
apt when they are missing and it can. The cluster lives under var/pg (git-ignored),
listens on 127.0.0.1 on a private port chosen once, and is reused on the next start.

PostgreSQL refuses to run as root, so as root the cluster runs as the unprivileged
system user `sheshi-pg` (created if needed).

Three login roles mirror production: `sheshi_owner` owns the schema and runs migrations,
`sheshi_app` is what the web application connects as; it owns nothing, so it can neither
disable triggers nor row-level security; `sheshi_jobs` (the worker and management commands) has
the app role's rights plus membership of `sheshi_system`, the only role for which the
all-organisations scope is honoured (see SECURITY.md).

Usage:  devdb.py env     start if needed, print `export KEY=value` lines
        devdb.py start   start if needed
        devdb.py stop    stop the cluster
        devdb.py status  exit 0 if running
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_HOME = Path(os.environ.get("SHESHI_PG_HOME", ROOT / "var" / "pg"))
PG_USER = "sheshi-pg"
DB_NAME = "sheshi"
OWNER_ROLE = "sheshi_owner"
APP_ROLE = "sheshi_app"
# Jobs and management commands log in as JOBS_ROLE: the app role's rights plus membership of
# SYSTEM_ROLE, the only sessions for which the all-organisations scope is honoured (SECURITY.md).
JOBS_ROLE = "sheshi_jobs"
SYSTEM_ROLE = "sheshi_system"


def log(msg: str) -> None:
    print(f"[devdb] {msg}", file=sys.stderr)


def find_bindir() -> Path:
    """Locate initdb/pg_ctl: PATH first, then pg_config, then Debian's versioned dirs."""
    candidates: list[Path] = []
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        candidates.append(Path(pg_ctl).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]), reverse=True):
        candidates.append(Path(d))
    for d in candidates:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return Path()


def install_server() -> Path:
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("PostgreSQL server binaries not found; installing Debian's postgresql package")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)
        bindir = find_bindir()
        if bindir != Path():
            return bindir
    sys.exit(
        "[devdb] PostgreSQL server binaries (initdb, pg_ctl) were not found: install your "
        "distribution's PostgreSQL server package (Debian/Ubuntu: `sudo apt-get install postgresql`) "
        "or set DATABASE_URL."
    )


def ensure_system_user() -> pwd.struct_passwd | None:
    """As root, return the unprivileged user that runs the cluster (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )
        return pwd.getpwnam(PG_USER)


def traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    probe = subprocess.run(["runuser", "-u", user.pw_name, "--", "test", "-x", str(path)])
    return probe.returncode == 0


def data_home(user: pwd.struct_passwd | None) -> Path:
    """Where the cluster's files live: var/pg, or, when the checkout is not reachable by the
    cluster's user (a repo under /root), a per-checkout folder under /var/lib linked from var/pg.
    We never loosen permissions on the user's folders."""
    PG_HOME.parent.mkdir(parents=True, exist_ok=True)
    if user is None or traversable_by(PG_HOME.parent, user):
        PG_HOME.mkdir(exist_ok=True)
        return PG_HOME
    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    real = Path("/var/lib/sheshi-pg") / digest
    real.mkdir(parents=True, exist_ok=True)
    os.chown(real.parent, user.pw_uid, user.pw_gid)
    if not PG_HOME.is_symlink():
        if PG_HOME.exists():
            shutil.rmtree(PG_HOME)
        PG_HOME.symlink_to(real)
    return real


def as_pg(user: pwd.struct_passwd | None, args: list[str], **kw) -> subprocess.CompletedProcess:
    cmd = (["runuser", "-u", user.pw_name, "--"] if user else []) + args
    return subprocess.run(cmd, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_cluster() -> int:
    """Init once, start if stopped; return the port. Idempotent and quick when running."""
    user = ensure_system_user()
    home = data_home(user)
    data = home / "data"
    port_file = home / "port"
    bindir = find_bindir()
    if bindir == Path():
        bindir = install_server()
    if user:
        os.chown(home, user.pw_uid, user.pw_gid)
    if not (data / "PG_VERSION").exists():
        log(f"initialising a private cluster in {data}")
        as_pg(user, [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                     "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"], check=True,
              stdout=subprocess.DEVNULL)
        port_file.write_text(str(free_port()))
    port = int(port_file.read_text())
    running = as_pg(user, [str(bindir / "pg_ctl"), "-D", str(data), "status"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not running:
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
                f"-c max_connections=200 -c shared_buffers=256MB -c max_locks_per_transaction=256")
        if os.environ.get("SHESHI_PG_FAST") == "1":
            # Test runs only: durability traded for speed; data here is throwaway.
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log(f"starting PostgreSQL on 127.0.0.1:{port}")
        as_pg(user, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"),
                     "-o", opts, "-w", "-t", "60", "start"], check=True, stdout=subprocess.DEVNULL)
    ensure_roles(bindir, port)
    return port


def psql(bindir: Path, port: int, sql: str, db: str = "postgres") -> str:
    out = subprocess.run(
        [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
         "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"[devdb] psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def ensure_roles(bindir: Path, port: int) -> None:
    for _ in range(50):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    # Roles are checked on every start, so a cluster made before a role existed gains it.
    psql(bindir, port, f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
            CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SYSTEM_ROLE}') THEN
            CREATE ROLE {SYSTEM_ROLE} NOLOGIN;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{JOBS_ROLE}') THEN
            CREATE ROLE {JOBS_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
              IN ROLE {APP_ROLE}, {SYSTEM_ROLE};
          END IF;
        END $$;""")
    if psql(bindir, port, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") == "1":
        return
    log(f"creating database {DB_NAME} owned by {OWNER_ROLE}")
    psql(bindir, port, f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE}")


def env_lines(port: int) -> list[str]:
    base = f"127.0.0.1:{port}/{DB_NAME}"
    return [
        f"export DATABASE_URL=postgres://{APP_ROLE}@{base}",
        f"export DATABASE_JOBS_URL=postgres://{JOBS_ROLE}@{base}",
        f"export DATABASE_OWNER_URL=postgres://{OWNER_ROLE}@{base}",
        f"export DATABASE_ADMIN_URL=postgres://postgres@{base}",
        f"export SHESHI_APP_DB_ROLE={APP_ROLE}",
    ]


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "env"
    if cmd in ("env", "start"):
        port = ensure_cluster()
        if cmd == "env":
            print("\n".join(env_lines(port)))
        return 0
    user = ensure_system_user()
    data = data_home(user) / "data"
    bindir = find_bindir()
    if cmd == "stop":
        if (data / "PG_VERSION").exists():
            as_pg(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        return 0
    if cmd == "status":
        return as_pg(user, [str(bindir / "pg_ctl"), "-D", str(data), "status"],
                     stdout=subprocess.DEVNULL).returncode
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
