"""payram settings, every one read from the environment (see .env.example).

The embedded default (nothing set, DEBUG on) is SQLite in var/, no Redis, eager tasks.
Production sets DEBUG=false, SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS and
PAYRAM_BASE_URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import dj_database_url

from payram.lib.env import ConfigError, envbool, envint, envlist, envstr, envurl

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("PAYRAM_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", False)

SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY must be set when DEBUG is off (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
PAYRAM_BASE_URL = envurl("PAYRAM_BASE_URL", "http://127.0.0.1:8000" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "members",
    "links",
    "links.notifications",  # webhooks and email, listening to links.signals
    "links.api",  # the REST API at /api/v1/
    "chain",
    "payram.apps.PayramConfig",  # payram's own deploy checks (payram/checks.py)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "payram.lib.security.ContentSecurityPolicyMiddleware",
    "payram.lib.security.RequestSizeLimitMiddleware",  # before anything reads a body
    "payram.lib.security.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "links.checkout_language.CheckoutLanguageMiddleware",  # the customer's language on /pay/ only
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "payram.urls"
WSGI_APPLICATION = "payram.wsgi.application"

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
                "links.checkout_language.switcher",
            ],
            "builtins": ["payram.templatetags.money"],
        },
    }
]

_default_db = f"sqlite:///{VAR_DIR / 'payram.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            envstr("DATABASE_URL", _default_db) or _default_db, conn_max_age=envint("DB_CONN_MAX_AGE", 60, minimum=0)
        )
    }
except Exception as exc:  # dj_database_url raises several types for a malformed URL
    raise ConfigError(f"DATABASE_URL is malformed: {exc}") from None
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several processes (web, scan loop) share the file: wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    VAR_DIR.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "links:home"  # the Overview
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
# The pay page, receipt and customer emails are translated (docs/checkout-languages.md);
# the dashboard stays English. Codes and each language's own name, for the switcher.
CHECKOUT_LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("fr", "Français"),
    ("tr", "Türkçe"),
]
LANGUAGES = CHECKOUT_LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Redis: the Celery broker and the cache (locks, rate limits). Unset = embedded default.
REDIS_URL = envurl("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE: dict = {}  # one scan entry per enabled network, built in payram/celery.py

# Security. Production (DEBUG off) gets secure cookies, https redirects and HSTS.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
BEHIND_HTTPS_PROXY = envbool("BEHIND_HTTPS_PROXY", False)
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the compose health check asks over plain http
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_HTTPS_PROXY else None
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a decision for the owner of the whole registrable domain
        # (hstspreload.org), not for one self-hosted app on a subdomain of it.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Error reports (the DEBUG page, any mail handler) hide credentials in URLs too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "payram.lib.security.SecretSafeExceptionReporterFilter"
# Content-Security-Policy (payram.lib.security): our own scripts and styles only.
PAYRAM_CSP = envstr(
    "PAYRAM_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
)
# The largest request body taken (forms and API bodies are a few KB): larger is a 413.
# A proxy in front should refuse the same (nginx: client_max_body_size 1m, its default).
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("PAYRAM_MAX_BODY_KB", 1024, minimum=16, maximum=100 * 1024) * 1024
# Reverse proxies in front that append to X-Forwarded-For; the client address is the hop
# the outermost of them added. 0 = use REMOTE_ADDR (X-Forwarded-For is ignored).
PAYRAM_TRUSTED_PROXIES = envint("PAYRAM_TRUSTED_PROXIES", 1 if BEHIND_HTTPS_PROXY else 0, minimum=0, maximum=10)
# Rate limits, NAME=COUNT/SECONDS comma-separated, overriding payram.lib.ratelimit.DEFAULT_LIMITS.
try:
    from payram.lib.ratelimit import parse_limits

    PAYRAM_RATE_LIMITS = parse_limits(envstr("PAYRAM_RATE_LIMITS"))
except ValueError as exc:
    raise ConfigError(f"PAYRAM_RATE_LIMITS: {exc}") from None

# Payment behaviour.
PAYRAM_QUOTE_MINUTES = envint("PAYRAM_QUOTE_MINUTES", 15, minimum=1, maximum=24 * 60)
PAYRAM_LATE_PAYMENT_HOURS = envint("PAYRAM_LATE_PAYMENT_HOURS", 24, minimum=0)
PAYRAM_CHAINS_FILE = envstr("PAYRAM_CHAINS_FILE")

# Price sources for volatile coins (links/pricing.py validates and applies the defaults).
PAYRAM_PRICE_SOURCES = envstr("PAYRAM_PRICE_SOURCES", "coinbase,kraken")
PAYRAM_FIXED_RATES = envstr("PAYRAM_FIXED_RATES")
PAYRAM_PRICE_TIMEOUT = envstr("PAYRAM_PRICE_TIMEOUT", "3")
PAYRAM_COINBASE_URL = envstr("PAYRAM_COINBASE_URL", "https://api.coinbase.com")
PAYRAM_KRAKEN_URL = envstr("PAYRAM_KRAKEN_URL", "https://api.kraken.com")

# Scanning and nodes.
PAYRAM_SCAN_LEASE_SECONDS = envint("PAYRAM_SCAN_LEASE_SECONDS", 30, minimum=5)
PAYRAM_NODE_ANSWER_MAX_MB = envint("PAYRAM_NODE_ANSWER_MAX_MB", 256, minimum=1)
PAYRAM_NODE_TIMEOUT_SECONDS = envint("PAYRAM_NODE_TIMEOUT_SECONDS", 30, minimum=1, maximum=600)
PAYRAM_SCAN_BATCHES_IN_FLIGHT = envint("PAYRAM_SCAN_BATCHES_IN_FLIGHT", 3, minimum=1, maximum=16)


class _NetworkEnvironment(Mapping[str, str]):
    """The per-network variables, named after a network's slug (PAYRAM_RPC_<SLUG>,
    PAYRAM_RPC_<SLUG>_COOKIE, PAYRAM_TRON_API_KEY_<SLUG>, PAYRAM_ZMQ_/WS_/POLL_SECONDS_/
    START_HEIGHT_/INTERNAL_TRANSFERS_<SLUG>). The slugs come from the catalogue (built-ins
    plus PAYRAM_CHAINS_FILE), so the names are not known here: this is every PAYRAM_*
    variable, looked up when the catalogue loads (chain.catalogue.reload() sees a changed
    environment, as it always has)."""

    PREFIX = "PAYRAM_"

    def __getitem__(self, name: str) -> str:
        if not name.startswith(self.PREFIX):
            raise KeyError(name)
        return os.environ[name]

    def __iter__(self) -> Iterator[str]:
        return iter([name for name in os.environ if name.startswith(self.PREFIX)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:  # values may hold credentials (RPC URLs, API keys)
        return f"<PAYRAM_NETWORK_ENV: {len(self)} variables>"


# Read as settings.PAYRAM_NETWORK_ENV.get(name, ""); a test may override_settings it with a dict.
PAYRAM_NETWORK_ENV: Mapping[str, str] = _NetworkEnvironment()

# Webhooks: endpoints on loopback/private addresses are refused unless allowed here.
PAYRAM_WEBHOOK_ALLOW_PRIVATE = envbool("PAYRAM_WEBHOOK_ALLOW_PRIVATE", False)

# Email (optional): off (dummy backend) until EMAIL_HOST or EMAIL_BACKEND is set.
EMAIL_HOST = envstr("EMAIL_HOST", "")
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.dummy.EmailBackend",
)
EMAIL_PORT = envint("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    if "EMAIL_USE_TLS" in os.environ:
        raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true: pick STARTTLS (587) or implicit TLS (465)")
    EMAIL_USE_TLS = False  # EMAIL_USE_SSL was asked for explicitly; TLS was only the default
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "payram@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
