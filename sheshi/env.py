"""Configuration from the environment only (12-factor). Nothing secret has a default here."""
from __future__ import annotations

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
