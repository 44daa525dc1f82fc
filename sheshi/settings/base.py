"""Settings shared by every profile. Values that differ per deployment come from the environment."""
from __future__ import annotations

from pathlib import Path

from sheshi.env import app_database_config, database_config, env, metrics_dir_config, owner_database_config
from sheshi.filestore.config import storages_from_environment
from sheshi.security.secrets import get_secret, get_secret_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = get_secret("SECRET_KEY")  # environment, or the secrets provider (sheshi/security/secrets.py)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "sheshi.security.admin_config.SheshiAdminConfig",  # django.contrib.admin with the OTP-aware site (sheshi/security)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "guardian",
    "django_q",
    "axes",  # login lockout (security block at the end of this file)
    "django_otp",  # optional TOTP second factor for the admin
    "django_otp.plugins.otp_totp",
    "csp",  # Content-Security-Policy (enabled in prod.py)
    "sheshi.api",
    "sheshi.tenancy",
    "sheshi.access",
    "sheshi.observability",  # /metrics, request timing in logs, request ids in jobs
    "sheshi.security",
    "sheshi.jobs",  # lost-job recovery across ledger imports and consolidation runs (its schedules)
    "audit",
    "ledger",
    "periods",
    "consolidation",
]

MIDDLEWARE = [
    "sheshi.request_context.RequestIdMiddleware",
    "sheshi.observability.middleware.RequestMetricsMiddleware",  # latency histogram + one log line per request
    # Before any check: /healthz and /readyz for a load balancer's direct probes over plain HTTP with
    # any Host (the two above read no Host and refuse nothing).
    "sheshi.observability.probes.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sheshi.security.middleware.RequestSizeLimitMiddleware",  # 413 before any body is read
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified() for the admin site
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "sheshi.request_context.DatabaseContextMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "sheshi.api.problems.ApiServerErrorMiddleware",  # DEBUG: problem+json, not the HTML 500 page, for /api/
    "sheshi.api.deprecation.DeprecationHeadersMiddleware",  # Deprecation/Sunset on deprecated operations
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: renders the lockout response
]

ROOT_URLCONF = "sheshi.urls"
WSGI_APPLICATION = "sheshi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sheshi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": app_database_config()}
# Report reads on a streaming replica when one is configured (sheshi/db/replica.py); bounded wait
# for it to replay the primary's position, else the primary. Web processes only: the URL carries the
# web role, and jobs (the jobs role, all-organisations scope) read the primary.
if get_secret("DATABASE_REPLICA_URL", "") and env.str("SHESHI_DB_AS", default="web") != "jobs":
    DATABASES["replica"] = database_config("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
SHESHI_REPLICA_MAX_WAIT_MS = env.int("SHESHI_REPLICA_MAX_WAIT_MS", default=500)
# Migrations and test-database creation run as the schema owner; the app runs as a role that
# owns nothing (see sheshi/db/roles.py and SECURITY.md).
OWNER_DATABASE = owner_database_config()
SHESHI_APP_DB_ROLE = env.str("SHESHI_APP_DB_ROLE", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out credentials before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous means no grants

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# default (import sources, attachments) and evidence: S3 when SHESHI_S3_*_BUCKET name buckets, else
# folders of MEDIA_ROOT; content-addressed either way (sheshi/filestore).
STORAGES = {
    **storages_from_environment(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes an unauthenticated call a 401, not a 403.
        "sheshi.access.services.tokens.ApiTokenAuthentication",
        "sheshi.api.authentication.ContextSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "sheshi.api.parsers.DecimalJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "sheshi.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["sheshi.api.filters.FilterBackend",
                                "sheshi.api.filters.OrderingFilter"],
    "DEFAULT_SCHEMA_CLASS": "sheshi.api.error_schema.SheshiAutoSchema",
    "EXCEPTION_HANDLER": "sheshi.api.problems.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": [
        "sheshi.api.throttling.AnonRateThrottle",  # keyed on client_addr (SHESHI_TRUSTED_PROXIES)
        "sheshi.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
    },
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sheshi API",
    "DESCRIPTION": "Governed general ledger, period close and consolidation. Money is a decimal string.",
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "PeriodStateEnum": "periods.models.state.PeriodState",
        "AccountKindEnum": "ledger.models.accounts.AccountKind",
        "ImportKindEnum": [("trial_balance", "trial_balance"), ("gl_detail", "gl_detail")],
        "AdjustmentKindEnum": "consolidation.models.adjustments.AdjustmentKind",
        "ReopenTargetEnum": [("open", "Open"), ("soft_closed", "Soft-closed")],
        "EntityRoleEnum": "sheshi.access.roles.Role",
        "RoleEnum": "ledger.models.accounts.AccountRole",  # the name it had before EntityRoleEnum existed
        "TaskStatusEnum": "periods.models.checklist.TaskStatus",
        "ChecklistOwnerRoleEnum": "periods.models.checklist.ROLE_CHOICES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",  # served locally: no CDN, CSP-friendly
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

Q_CLUSTER = {
    "name": "sheshi",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=900),  # must exceed timeout: the ORM broker re-delivers after `retry`
    "max_attempts": 3,
    "bulk": 1,
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=False),
    "ack_failures": True,
}

# Jobs on Amazon SQS when a queue is named (deploy/aws), the ORM broker on PostgreSQL otherwise.
SHESHI_SQS_QUEUE_URL = env.str("SHESHI_SQS_QUEUE_URL", default="")
if SHESHI_SQS_QUEUE_URL:
    from sheshi.jobs.sqs import q_cluster_sqs

    Q_CLUSTER = q_cluster_sqs(Q_CLUSTER, region=env.str("SHESHI_AWS_REGION", default="") or None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "sheshi.logging.JsonFormatter"}},
    "filters": {"request": {"()": "sheshi.logging.RequestContextFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Sheshi-specific knobs
SHESHI_AUDIT_SIGNING_KEY = get_secret("SHESHI_AUDIT_SIGNING_KEY", "")
SHESHI_METRICS_TOKEN = get_secret("SHESHI_METRICS_TOKEN", "")
# prometheus_client's multiprocess folder (sheshi/observability/metrics.py); set before any app imports the library.
SHESHI_METRICS_DIR = metrics_dir_config(env.str("SHESHI_METRICS_DIR", default=""))
# Signed anchors of the audit chain heads, written hourly and at each period lock to a write-once
# store outside the database (audit/anchor/). The directory store is the default; see deploy/README.md.
SHESHI_AUDIT_ANCHOR_DIR = env.str("SHESHI_AUDIT_ANCHOR_DIR", default=str(BASE_DIR / "var" / "audit-anchors"))
# Development and tests only (sheshi/settings/dev.py, test.py): anchors in a sub-folder per database
# instance, so a dropped and recreated database does not meet its predecessor's anchors.
SHESHI_AUDIT_ANCHOR_PER_DATABASE = False
SHESHI_AUDIT_ANCHOR_STORE = env.str("SHESHI_AUDIT_ANCHOR_STORE", default="audit.anchor.store.DirectoryAnchorStore")
SHESHI_IMPORT_MAX_BYTES = env.int("SHESHI_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
SHESHI_IMPORT_MAX_ROWS = env.int("SHESHI_IMPORT_MAX_ROWS", default=2_000_000)
# Uploads up to this size are validated and posted in the request; larger ones run as a job.
SHESHI_IMPORT_INLINE_MAX_BYTES = env.int("SHESHI_IMPORT_INLINE_MAX_BYTES", default=2 * 1024 * 1024)
# Idempotency-Key records (sheshi/api/idempotency.py): kept this long, then purged hourly (the key is
# free again); a claim whose request has not finished after the second setting is reported abandoned
# rather than in use. It must exceed the longest a request may run (gunicorn --timeout 60 in deploy/).
SHESHI_IDEMPOTENCY_RETENTION_HOURS = env.int("SHESHI_IDEMPOTENCY_RETENTION_HOURS", default=24)
SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS = env.int("SHESHI_IDEMPOTENCY_ABANDONED_AFTER_SECONDS", default=300)
# Test-only (tests/reliability, issue 10): "1" switches the ledger services' own checks off, so
# PostgreSQL alone must hold every rule. Never set in a deployment: check --deploy warns (sheshi.W005).
SHESHI_UNSAFE_SKIP_APP_VALIDATION = env.str("SHESHI_UNSAFE_SKIP_APP_VALIDATION", default="") == "1"

# --- Security defaults (sheshi/security, SECURITY.md) -----------------------------------------
# Login lockout (django-axes): 5 failures for the same username from the same address lock that
# pair out for 15 minutes. Keyed on the pair so nobody can lock a colleague out from elsewhere.
# The client address is sheshi.request_context.client_addr: REMOTE_ADDR, or behind a trusted
# proxy the rightmost X-Forwarded-For hop that is not one (SHESHI_TRUSTED_PROXIES below).
# Tests: use client.force_login — axes refuses authenticate() calls that carry no request.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
AXES_CLIENT_IP_CALLABLE = "sheshi.request_context.client_addr"
# Reverse proxies whose X-Forwarded-For is believed: IPs or CIDRs, comma-separated, e.g.
# "127.0.0.1,::1" for the nginx of deploy/ on the same host, or the load balancer's subnet.
# Empty (the default): REMOTE_ADDR only. Lockout, throttling and audit events all use it.
SHESHI_TRUSTED_PROXIES = env.list("SHESHI_TRUSTED_PROXIES", default=[])
# Direct callers (no X-Forwarded-For) from these networks get /healthz and /readyz over plain HTTP
# with any Host: the load balancer's health checker (sheshi/observability/probes.py).
SHESHI_PROBE_NETWORKS = env.list("SHESHI_PROBE_NETWORKS", default=[
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7"])
# Sheshi's throttles key on client_addr; NUM_PROXIES 0 keeps DRF's own classes off the header too.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("THROTTLE_NUM_PROXIES", default=0)
# Admin second factor (django-otp): users with a confirmed TOTP device must enter a code.
SHESHI_ADMIN_REQUIRE_OTP = env.bool("SHESHI_ADMIN_REQUIRE_OTP", default=True)
# Webhooks reach public https endpoints only (audit/webhook_urls.py); loopback for dev and tests.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
OTP_TOTP_ISSUER = "Sheshi"
# Request bodies: JSON and forms up to DATA_UPLOAD_MAX_MEMORY_SIZE, multipart uploads up to the
# import limit; anything larger is refused with 413 before it is read.
SHESHI_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
SHESHI_MAX_UPLOAD_BYTES = SHESHI_IMPORT_MAX_BYTES
# Field encryption keys (Fernet, comma-separated, first = current). No default: see SECURITY.md.
SHESHI_FIELD_KEYS = get_secret_list("SHESHI_FIELD_KEYS")
LOGGING["filters"]["redact"] = {"()": "sheshi.security.redaction.RedactSecretsFilter"}
LOGGING["handlers"]["console"]["filters"].append("redact")
