"""Test profile: real PostgreSQL (never SQLite), fast hashing, jobs run inline."""
import os

from sheshi.env import app_database_config, database_config, env

env.ENVIRON.setdefault("SECRET_KEY", "test-only-not-secret-" + "y" * 40)
env.ENVIRON.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
env.ENVIRON.setdefault("Q_SYNC", "true")
env.ENVIRON.setdefault("SHESHI_AUDIT_SIGNING_KEY", "test-signing-key-not-secret")
env.ENVIRON.setdefault("THROTTLE_USER", "100000/min")
env.ENVIRON.setdefault("THROTTLE_ANON", "100000/min")
env.ENVIRON.setdefault("SHESHI_FIELD_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3Qtc2VjcmV0LTA=")  # test-only Fernet key
env.ENVIRON.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "true")  # receivers on 127.0.0.1

from sheshi.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; tests only
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
# Anchors bind one database: a folder per database instance (an earlier run's anchors bind another
# database), and each test its own inside the suite (tests/conftest.py).
SHESHI_AUDIT_ANCHOR_DIR = str(MEDIA_ROOT / "audit-anchors")
SHESHI_AUDIT_ANCHOR_PER_DATABASE = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Static files come from the app directories (runserver); WhiteNoise serves collected files in prod.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405

# The suite drives commands and jobs (the all-organisations scope) and web requests through one
# connection, so it logs in as the jobs role when there is one; raw-SQL attacks use the web role's
# own credentials (WEB_DATABASE, tests/conftest.py::app_sql).
WEB_DATABASE = database_config("DATABASE_URL")
DATABASES["default"] = app_database_config(as_jobs=True)  # noqa: F405

# One test database per pytest process, so several runs can share the private cluster.
DATABASES["default"]["TEST"] = {"NAME": env.str("SHESHI_TEST_DB", default=f"test_sheshi_{os.getpid()}")}  # noqa: F405
