"""40 password guesses for one account arrive at the same moment, from 40 addresses: no
more of them are checked than the per-username limit allows (5), whichever cache holds
the counters (Redis in production, the in-process cache of the embedded default)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client

GUESSES = 40
LIMIT = 5

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["redis", "locmem"])
def counters(request, settings):
    if request.param == "redis":
        location = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": location,
                "KEY_PREFIX": f"concurrent-sign-in-{os.getpid()}-{time.time_ns()}",
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sign-in"}}
    # A day-long window: the burst never straddles two windows (each would allow LIMIT).
    settings.PAYRAM_RATE_LIMITS = {"login_username": (LIMIT, 86400), "login_ip": (20, 86400)}
    from django.core.cache import cache

    if request.param == "locmem":
        cache.clear()  # Redis: counters of this process's own prefix only, never a FLUSHDB of a shared database
    yield request.param
    if request.param == "locmem":
        cache.clear()


def test_concurrent_guesses_never_exceed_the_limit(counters, merchant, password):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite's shared in-memory test database answers 'table is locked' to concurrent "
            "sessions instead of waiting: concurrent sign-in is PostgreSQL's to show"
        )
    checked = []
    lock = threading.Lock()

    def count_failure(sender, credentials, **kwargs):
        with lock:
            checked.append(credentials.get("username"))

    user_login_failed.connect(count_failure)
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> int:
        client = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        try:
            start.wait(timeout=30)
            return client.post("/login/", {"username": "merchant", "password": f"guess-{n}"}).status_code
        finally:
            connection.close()  # as at the end of a request

    try:
        with ThreadPoolExecutor(max_workers=GUESSES) as pool:
            answers = list(pool.map(guess, range(GUESSES), timeout=180))
    finally:
        user_login_failed.disconnect(count_failure)

    assert sorted(set(answers)) == [200, 429]
    assert answers.count(200) == LIMIT, answers
    assert len(checked) == LIMIT, f"{len(checked)} passwords checked against a limit of {LIMIT}"
    # And the right password is refused too while the limit holds.
    assert Client(REMOTE_ADDR="203.0.113.99").post("/login/", {"username": "merchant", "password": password}).status_code == 429
