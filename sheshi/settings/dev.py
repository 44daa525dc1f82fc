"""Local development: debug on, loopback only. Never used in production."""
from sheshi.env import env

env.ENVIRON.setdefault("SECRET_KEY", "dev-only-not-secret-" + "x" * 40)
env.ENVIRON.setdefault("DEBUG", "true")
env.ENVIRON.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
env.ENVIRON.setdefault("SHESHI_FIELD_KEYS", "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1zZWNyZXQtMDA=")  # dev-only Fernet key
env.ENVIRON.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "true")  # receivers on 127.0.0.1
env.ENVIRON.setdefault("SHESHI_AUDIT_SIGNING_KEY", "dev-only-audit-signing-key-not-secret")  # anchors, digests

from sheshi.settings.base import *  # noqa: E402,F403

REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [  # noqa: F405
    "rest_framework.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]

# Static files come from the app directories (runserver); WhiteNoise serves collected files in prod.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
SHESHI_AUDIT_ANCHOR_PER_DATABASE = True  # a recreated dev database starts with no anchors (base.py)
