"""Baton settings.

Every environment variable is read here, once, through the typed helpers of `baton_site.env`; each has a safe
local default, so `baton serve` on a fresh machine needs no configuration (SQLite and the in-memory channel layer
in a data directory inside the working directory). Optional infrastructure switches on when its URL is set
(`DATABASE_URL` for PostgreSQL, `REDIS_URL` for the channel layer and the Celery broker). A malformed value stops
the process at start-up with `ImproperlyConfigured`. Keep code out of this module beyond reading configuration.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from baton_site import runtime
from baton_site.env import env_bool, env_float, env_float_list, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PROCESS_STARTED_AT = runtime.STARTED_AT

# --- Data directory -------------------------------------------------------------------------------------------
DATA_DIR = Path(env_str("BATON_DATA_DIR", str(Path.cwd() / ".baton"))).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Read DJANGO_SECRET_KEY, else a key generated once and kept in the data directory."""
    configured = env_secret("DJANGO_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# --- Core Django ----------------------------------------------------------------------------------------------
SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("BATON_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("BATON_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "baton_site",
    "agents",
    "plans",
    "executions",
    "decisions",
    "pmo",
    "webhooks",
]

MIDDLEWARE = [
    # CORS is outermost so that pre-flight OPTIONS requests and 401 answers both carry CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "baton_site.middleware.RequestIdMiddleware",
    "baton_site.metrics.MetricsMiddleware",
    "baton_site.middleware.AuditMiddleware",
    "baton_site.middleware.BodySizeLimitMiddleware",
    "baton_site.middleware.AuthFailureThrottleMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "baton_site.auth.BearerTokenMiddleware",
    "baton_site.middleware.PageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "baton_site.middleware.PageAuthenticationMiddleware",
    "baton_site.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sync-only and innermost: it writes to the database in the same thread as the (sync) views.
    "baton_site.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "baton_site.urls"
WSGI_APPLICATION = "baton_site.wsgi.application"
ASGI_APPLICATION = "baton_site.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -------------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "baton_site.db",  # Django's sqlite3 backend plus an in-process writer queue
            "NAME": DATA_DIR / "baton.sqlite3",
            "OPTIONS": {
                # Writers take the database lock when their transaction begins, so two writers never deadlock
                # upgrading a read lock; WAL lets readers proceed while one writer commits.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                # WAL is set once per database file by the backend (baton_site.db); this runs per connection.
                "init_command": "PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, CORS -----------------------------------------------------------------------------------------------
BATON_API_TOKEN = (env_secret("BATON_API_TOKEN") or "").strip()
_cors_origins = env_list("BATON_CORS_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
# Browsers ignore a "*" allow-list on credentialed requests, so name the headers instead.
CORS_ALLOW_HEADERS = [
    *cors_default_headers,
    "cache-control",
    "idempotency-key",
    "last-event-id",
    "x-request-id",
    "x-correlation-id",
]
CORS_PREFLIGHT_MAX_AGE = 600
if "*" in _cors_origins:
    CORS_ALLOW_ALL_ORIGINS = True
elif _cors_origins:
    CORS_ALLOWED_ORIGINS = _cors_origins
else:
    CORS_ALLOWED_ORIGIN_REGEXES = [r"^https?://(localhost|127\.0\.0\.1)(:\d+)?$"]
LOGIN_URL = "/admin/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Internationalisation, static files -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# --- REST framework and OpenAPI -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The API authenticates with the bearer-token middleware only; no session authentication (see DESIGN.md,
    # security rules), so DRF neither reads cookies nor enforces CSRF on API calls.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "baton_site.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": (
        "Orchestration server for teams of AI coding agents: planner, execution engine, human decisions, "
        "live events, webhooks and the PMO board. With a token configured, send `Authorization: Bearer <token>`."
    ),
    "VERSION": runtime.package_version(),
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    "PREPROCESSING_HOOKS": ["baton_site.openapi.only_api_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "baton_site.openapi.document_validation_errors",
    ],
    "ENUM_NAME_OVERRIDES": {},
}

# --- Channels -------------------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Channels drops messages when a group's buffer is full: size it for bursts; SSE clients recover
            # anything dropped from the event table by sequence.
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 5000, "expiry": 60, "group_expiry": 86400},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
    }

# --- Celery ---------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    for _folder in ("queue", "processed", "control"):
        (DATA_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if REDIS_URL
    else {
        "data_folder_in": str(DATA_DIR / "broker" / "queue"),
        "data_folder_out": str(DATA_DIR / "broker" / "queue"),
        "processed_folder": str(DATA_DIR / "broker" / "processed"),
        "control_folder": str(DATA_DIR / "broker" / "control"),
        "store_processed": False,
    }
)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = env_bool("BATON_CELERY_EAGER", default=False)

# --- Baton ----------------------------------------------------------------------------------------------------
BATON_MAX_PARALLEL = env_int("BATON_MAX_PARALLEL", 3, minimum=1)
BATON_PROJECT_ROOTS = [
    Path(p).expanduser().resolve() for p in env_list("BATON_PROJECT_ROOTS", [], separator=":")
]
BATON_AGENT_DIRS = [Path(p).expanduser() for p in env_list("BATON_AGENT_DIRS", [], separator=":")]
BATON_WEBHOOK_RETRY_DELAYS = env_float_list("BATON_WEBHOOK_RETRY_DELAYS", [5.0, 30.0, 300.0])
BATON_WEBHOOK_TIMEOUT = env_float("BATON_WEBHOOK_TIMEOUT", 10.0, minimum=0.1)
BATON_DECISION_TTL_HOURS = env_float("BATON_DECISION_TTL_HOURS", 0.0, minimum=0.0)
BATON_SSE_KEEPALIVE = env_float("BATON_SSE_KEEPALIVE", 30.0, minimum=0.05)
# How often a stream checks the event table for events published by other processes (without Redis) or dropped.
BATON_STREAM_POLL_INTERVAL = env_float("BATON_STREAM_POLL_INTERVAL", 1.0, minimum=0.05)

# --- Hardening ------------------------------------------------------------------------------------------------
# Threads per web process for request/response routes (streams need none); each keeps its own DB connection.
# 0: none, the requests run on the event loop's thread one at a time (baton_site.asgi.RequestASGIHandler).
BATON_HTTP_THREADS = env_int("BATON_HTTP_THREADS", 0, minimum=0)
# Whether this process copies the SQLite log back into the database (baton_site.db). `baton serve` does it in its
# own process, which otherwise only waits on its children, and turns it off for the processes it starts.
BATON_SQLITE_CHECKPOINTS = env_bool("BATON_SQLITE_CHECKPOINTS", default=True)
# Threads of the Celery worker `baton serve` embeds (without REDIS_URL).
BATON_WORKER_THREADS = env_int("BATON_WORKER_THREADS", 16, minimum=1)
BATON_MAX_BODY_BYTES = env_int("BATON_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = BATON_MAX_BODY_BYTES
BATON_AUTH_FAILURE_LIMIT = env_int("BATON_AUTH_FAILURE_LIMIT", 10, minimum=1)
BATON_AUTH_FAILURE_WINDOW = env_float("BATON_AUTH_FAILURE_WINDOW", 60.0, minimum=1.0)
BATON_IDEMPOTENCY_REQUIRED = env_bool("BATON_IDEMPOTENCY_REQUIRED", default=False)
BATON_METRICS_PUBLIC = env_bool("BATON_METRICS_PUBLIC", default=False)

# --- Logging --------------------------------------------------------------------------------------------------
LOG_LEVEL = env_str("BATON_LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("BATON_LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("BATON_LOG_FORMAT must be text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "baton_site.context.RequestIdLogFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "baton_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Webhooks -------------------------------------------------------------------------------------------------
# URL safety (DESIGN.md, security rules): a webhook URL must be https, except for loopback hosts, which local
# development may use over http (set BATON_WEBHOOK_ALLOW_LOOPBACK=false on a server other people can reach).
# Addresses that are not globally routable (private, link-local, metadata, CGNAT, ...) are refused unless
# BATON_WEBHOOK_ALLOW_HOSTS names the host, the address or a network holding it (comma-separated).
BATON_WEBHOOK_ALLOW_LOOPBACK = env_bool("BATON_WEBHOOK_ALLOW_LOOPBACK", default=True)
BATON_WEBHOOK_ALLOW_HOSTS = [host.lower() for host in env_list("BATON_WEBHOOK_ALLOW_HOSTS", [])]
for _entry in BATON_WEBHOOK_ALLOW_HOSTS:
    if "/" in _entry:
        try:
            ipaddress.ip_network(_entry, strict=False)
        except ValueError as _exc:
            raise ImproperlyConfigured(f"BATON_WEBHOOK_ALLOW_HOSTS: {_entry!r} is not a network") from _exc
# A webhook is disabled after this many consecutive deliveries that exhausted their attempts.
BATON_WEBHOOK_AUTO_DISABLE_AFTER = env_int("BATON_WEBHOOK_AUTO_DISABLE_AFTER", 10, minimum=1)
# Every worker runs the delivery sweep this often: a pending delivery overdue by REQUEUE_AFTER seconds (its message
# was lost: a web process died after its commit, a worker died holding prefetched messages) or a delivery claimed
# longer than CLAIM_TIMEOUT seconds ago (its worker died mid-attempt) is enqueued again.
BATON_WEBHOOK_SWEEP_INTERVAL = env_float("BATON_WEBHOOK_SWEEP_INTERVAL", 5.0, minimum=0.05)
# Finished deliveries (and their attempt logs) are deleted this many days after they finished; 0 keeps them all.
BATON_WEBHOOK_RETENTION_DAYS = env_float("BATON_WEBHOOK_RETENTION_DAYS", 30.0, minimum=0.0)
BATON_WEBHOOK_REQUEUE_AFTER = env_float("BATON_WEBHOOK_REQUEUE_AFTER", 60.0, minimum=0.1)
BATON_WEBHOOK_CLAIM_TIMEOUT = env_float("BATON_WEBHOOK_CLAIM_TIMEOUT", 150.0, minimum=1.0)
if BATON_WEBHOOK_CLAIM_TIMEOUT <= BATON_WEBHOOK_TIMEOUT:
    raise ImproperlyConfigured("BATON_WEBHOOK_CLAIM_TIMEOUT must be longer than BATON_WEBHOOK_TIMEOUT")
BATON_WEBHOOK_FAILURE_LOG = DATA_DIR / "webhook-failures.jsonl"
if not REDIS_URL:
    # The filesystem broker with atomic writes and claims (kombu's own can hand a consumer a half-written message,
    # which stops the worker): see baton_site/broker.py.
    CELERY_BROKER_TRANSPORT = "baton_site.broker:Transport"
    # kombu's virtual transports sleep this long whenever the queue is empty (kombu's default, 1 s, would add up
    # to a second to every delivery on the filesystem broker). At 0.02 s an idle worker uses about 2% of a core
    # (1% at 0.05 s), and a delivery waits 10 ms for its message on average instead of 25 ms.
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = env_float(
        "BATON_BROKER_POLL_INTERVAL", 0.02, minimum=0.005
    )
if not DATABASE_URL:
    # Keep SQLite connections between requests and tasks (PostgreSQL already has conn_max_age above): Celery's
    # Django fixup closes obsolete connections after every task, and reopening one (with its PRAGMAs) cost more
    # than all of a webhook delivery's queries.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
