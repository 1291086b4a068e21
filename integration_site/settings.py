"""Settings, read once from the environment (and an optional `.env` file); every knob is in README.md."""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from integration_site.mail import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of this installation: used in e-mails (installation URL) and as OAuth redirect base.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- HTTPS hardening: on in production, off for local HTTP (make run) and the test suite ----------
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("BEHIND_TLS_PROXY", default=HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # ReDoc from our own static files: the docs work without any CDN
    "django_q",
    "connectors",
    "licenses",
    "orders",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "integration_site.urls"
WSGI_APPLICATION = "integration_site.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database: SQLite by default, DATABASE_URL for PostgreSQL --------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server and worker share the file: wait for locks, take write locks up front, and let
    # readers run beside one writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters bound by the server (psycopg then prepares the statements a process repeats): PostgreSQL
    # parses and plans a worker's dozen statements once per connection, not once per order. Turn it off
    # behind a pooler in transaction mode (PgBouncer without prepared-statement support).
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue (django-q2): ORM broker by default, Redis when REDIS_URL is set ---------------------
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="integration"),
    "workers": env.int("Q_WORKERS", default=2),
    # timeout above the slowest task (a few HTTP calls with 20 s read timeouts); retry above timeout
    # (django-q2 warns otherwise).
    "timeout": 120,
    "retry": 180,
    # Our own order rows drive retries; the queue only triggers work.
    "max_attempts": 1,
    "ack_failures": True,
    # -1: successful tasks are not stored at all (our order rows and timelines record the work); failures
    # always are, under Failed tasks in the admin. With a positive limit django-q2's monitor re-reads that
    # many saved rows for every finished task.
    "save_limit": env.int("Q_SAVE_LIMIT", default=-1),
    "catch_up": False,
    "poll": env.float("Q_POLL_SECONDS", default=0.5),
    "sync": env.bool("Q_SYNC", default=False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache (throttling of sign-up and logins): shared by every web process ---------------------------
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}
    }
SIGNUP_RATE_PER_HOUR = env.int("SIGNUP_RATE_PER_HOUR", default=5)
# An installation link that was never finished opens the wizard for this many days after it was sent.
INSTALL_LINK_DAYS = env.int("INSTALL_LINK_DAYS", default=30)
LOGIN_FAILURES_ALLOWED = env.int("LOGIN_FAILURES_ALLOWED", default=5)  # per user name, 15 minutes
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)  # per client address
# Password-reset mails per hour, per client address and per e-mail address asked for.
PASSWORD_RESETS_PER_HOUR = env.int("PASSWORD_RESETS_PER_HOUR", default=5)
TICKETS_PER_HOUR = env.int("TICKETS_PER_HOUR", default=20)  # per licence (dashboard and API together)
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (0: none, trust REMOTE_ADDR).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard-home"
LOGOUT_REDIRECT_URL = "login"

# --- Passwords, i18n, static files -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en"
LANGUAGES = [("nl", "Nederlands"), ("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["integration_site.formats"]  # English dates as in Belgium: 15/11/2026 10:00
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- E-mail: console by default; EMAIL_URL=smtp://user:pass@host:587 or filemail:///path ------------
vars().update(email_settings(env.str("EMAIL_URL", default="consolemail://")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="KMO Shops koppeling <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@localhost")
# Who gets an e-mail (with the traceback) when the product hits an error of its own: ADMINS as
# "a@x.example,b@x.example"; by default the support address. Empty: nobody (the error is only logged).
ADMINS = [("Support", address) for address in env.list("ADMINS", default=[SUPPORT_EMAIL]) if address]

# --- Secrets at rest: Fernet keys (comma-separated, newest first, for rotation) ---------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and not DEBUG and env.bool("REQUIRE_FIELD_ENCRYPTION_KEYS", default=True):
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")

# --- External services ---------------------------------------------------------------------------------
KMOSHOPS_API_URL = env.str("KMOSHOPS_API_URL", default="https://app.ecwid.com/api/v3").rstrip("/")
KMOSHOPS_OAUTH_URL = env.str("KMOSHOPS_OAUTH_URL", default="https://my.ecwid.com/api/oauth").rstrip("/")
KMOSHOPS_CLIENT_ID = env.str("KMOSHOPS_CLIENT_ID", default="")
KMOSHOPS_CLIENT_SECRET = env.str("KMOSHOPS_CLIENT_SECRET", default="")
KMOSHOPS_SCOPES = env.str("KMOSHOPS_SCOPES", default="read_store_profile read_orders")
EF_API_URL = env.str("EF_API_URL", default="https://eenvoudigfactureren.be").rstrip("/")
VIES_URL = env.str("VIES_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api").rstrip("/")
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=5.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=20.0)

# --- Order pipeline ---------------------------------------------------------------------------------------
ORDER_MAX_ATTEMPTS = env.int("ORDER_MAX_ATTEMPTS", default=8)
# "Fetch orders since <date>" reaches back at most this many days before the start date.
BACKFILL_MAX_DAYS = env.int("BACKFILL_MAX_DAYS", default=400)
ORDER_RETRY_BASE_SECONDS = env.float("ORDER_RETRY_BASE_SECONDS", default=60.0)
ORDER_RETRY_MAX_SECONDS = env.float("ORDER_RETRY_MAX_SECONDS", default=3600.0)
# A claimed order whose worker died is reclaimed by the sweep after this long.
ORDER_CLAIM_STALE_SECONDS = env.int("ORDER_CLAIM_STALE_SECONDS", default=300)
# A queued order whose task vanished (a worker killed with tasks in hand, a broker restart) is handed out
# again after this long (the broker's queue is kept short by the rounds below, so 2 minutes is ample).
ORDER_LOST_TASK_SECONDS = env.int("ORDER_LOST_TASK_SECONDS", default=120)
# At most this many order tasks on the broker at once from bulk paths (catch-up, resume, due retries),
# handed out by the ticker in rounds shared equally between licences: one licence's backlog never stands
# before another licence's new order.
ORDER_HAND_OUT_MAX = env.int("ORDER_HAND_OUT_MAX", default=200)
# Each order's outbound calls (More info → Calls) are kept this many days.
ORDER_CALL_LOG_DAYS = env.int("ORDER_CALL_LOG_DAYS", default=90)
# How often `manage.py pipeline_ticker` hands due retries and stale claims to the workers.
ORDER_TICK_SECONDS = env.float("ORDER_TICK_SECONDS", default=5.0)
# How often it hands newly stored webhook events to the workers (the webhook itself only stores them).
WEBHOOK_HAND_OUT_SECONDS = env.float("WEBHOOK_HAND_OUT_SECONDS", default=0.1)
# At most this many events in one worker task when many arrive at once (one task per event costs the queue
# more than the event's own database work); fewer when there are fewer than the workers.
WEBHOOK_BATCH_MAX = env.int("WEBHOOK_BATCH_MAX", default=10)
# A worker stops starting events of its batch after this long and gives the rest back to the ticker, so
# that a batch of slow orders neither outlasts the task timeout nor holds events another worker could take.
WEBHOOK_BATCH_SECONDS = env.float("WEBHOOK_BATCH_SECONDS", default=15.0)
# After an invoice create whose answer never came (timeout, lost connection, 5xx), no new create until a
# look-up made this long after the read timeout ran out finds nothing (EF may still be storing it).
EF_UNCERTAIN_CREATE_MARGIN_SECONDS = env.float("EF_UNCERTAIN_CREATE_MARGIN_SECONDS", default=40.0)
# INFERRED: how EF words "this customer cannot be reached through Peppol" when a send is refused
# (lower-case fragments, comma separated). Such a refusal falls back to e-mail when the merchant allows it;
# any other refusal of a Peppol send is PEPPOL_REJECTED.
EF_PEPPOL_UNREACHABLE_MARKERS = [
    marker.strip().lower()
    for marker in env.list(
        "EF_PEPPOL_UNREACHABLE_MARKERS",
        default=["not registered on the peppol network", "not reachable via peppol", "no peppol"],
    )
    if marker.strip()
]
# INFERRED: how EF words the refusal of a VAT rate the account lacks (spec: "tax_rate invalid").
EF_TAX_RATE_REFUSED_MARKERS = [
    marker.strip().lower()
    for marker in env.list("EF_TAX_RATE_REFUSED_MARKERS", default=["tax_rate invalid"])
    if marker.strip()
]
# INFERRED: the EU member states' VAT rates used to recognise an OSS sale, as JSON {"NL": ["21", "9"], …};
# empty: the table in orders/oss.py.
OSS_VAT_RATES = env.json("OSS_VAT_RATES", default={})
CATCHUP_INTERVAL_MINUTES = env.int("CATCHUP_INTERVAL_MINUTES", default=15)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
# KMO Shops (Ecwid) retries an event for up to 24 h after it happened; an older one is a replay.
WEBHOOK_MAX_AGE_SECONDS = env.int("WEBHOOK_MAX_AGE_SECONDS", default=26 * 3600)

# Only for bench/load.py: serve the one-INSERT yardstick view at /bench/one-insert/.
BENCH_BASELINE_VIEW = env.bool("BENCH_BASELINE_VIEW", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Errors of our own (a worker's unexpected failure, a ticker that cannot reach the database) reach a
        # person: a mail to ADMINS. Django's own request errors already go there when DEBUG is off.
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "orders": {
            "handlers": ["console", "mail_admins"],
            "level": env.str("LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
    },
}

REST_FRAMEWORK = {
    # The merchant API (dashboard/api/) names its own authentication; nothing else uses DRF.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dashboard.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE", default="120/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KMO Shops → EenvoudigFactureren API",
    "DESCRIPTION": (
        "Your licence, orders (Open, Report, Errors, Ignored), their timeline and how to fix an error, "
        "Process and Ignore, and tickets. Authenticate with `Authorization: Bearer <key>` (Dashboard → "
        'API keys); a key sees one licence. Every error is `{"error": {"code", "message"}}` in the '
        "language of `Accept-Language`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "REDOC_DIST": "SIDECAR",
    # The system's fonts: nothing is fetched from Google Fonts (templates/drf_spectacular/redoc.html).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.models.OrderState",
        "FollowUpStateEnum": "orders.models.FollowUp.State",
        "TicketStatusEnum": "dashboard.models.Ticket.Status",
    },
}
