"""Production: secure by default. Every secret and host comes from the environment."""
from sheshi.env import env
from sheshi.settings.base import *  # noqa: F403

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load-balancer probes speak plain HTTP to the container: health endpoints answer without redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Pitfall: Django's pool breaks forked qcluster workers; keep it off (CONN_MAX_AGE reuse instead).

# Content-Security-Policy: same-origin only (sheshi/security/csp.py); right after SecurityMiddleware.
_after = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1  # noqa: F405
MIDDLEWARE = [*MIDDLEWARE[:_after], "sheshi.security.csp.SheshiCSPMiddleware", *MIDDLEWARE[_after:]]  # noqa: F405
from sheshi.security.csp import POLICY as CONTENT_SECURITY_POLICY  # noqa: E402,F401
