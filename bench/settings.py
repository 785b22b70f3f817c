"""Settings of the web server the bench starts (gunicorn, bench/web.py): the app's own
settings (production mode: DEBUG off) plus a trivial view as the baseline and rate limits
that never refuse. Never used by the app itself."""

from payram.lib.ratelimit import DEFAULT_LIMITS
from payram.settings import *  # noqa: F403 - the app's settings, then the bench's changes

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Plain http on the loopback, no collected static manifest.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Checked on every request (their cost is part of it) but never refusing: wrk asks far
# more often than a browser.
PAYRAM_RATE_LIMITS = {name: (10**9, seconds) for name, (_count, seconds) in DEFAULT_LIMITS.items()}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
