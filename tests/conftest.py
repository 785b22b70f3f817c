"""Shared fixtures. Real parts only: the database is PostgreSQL in CI (DATABASE_URL) or
the SQLite default; anvil, the browser and the Bitcoin Core-format server come from
tests/support/."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests
# make between page actions are still synchronous, so Django's async guard is lifted.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.support.browser",
    "tests.support.anvil",
    "tests.support.bitcoin_core",
    "tests.support.tron_node",
]


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-9"


@pytest.fixture
def merchant(django_user_model, password):
    return django_user_model.objects.create_user(username="merchant", email="merchant@example.com", password=password)


@pytest.fixture
def other_merchant(django_user_model, password):
    return django_user_model.objects.create_user(username="rival", email="rival@example.com", password=password)


@pytest.fixture
def project(merchant):
    from members.models import Project

    p = Project.objects.create(name="Corner Shop", return_url="https://shop.example.com/thanks")
    p.owners.add(merchant)
    return p


@pytest.fixture
def other_project(other_merchant):
    from members.models import Project

    p = Project.objects.create(name="Rival Store")
    p.owners.add(other_merchant)
    return p


@pytest.fixture
def member(project):
    from members.models import Member

    return Member.objects.create(project=project, email="alice@example.com", name="Alice")


@pytest.fixture
def merchant_client(client, merchant):
    client.force_login(merchant)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: rate-limit counters (payram.lib.ratelimit)
    from earlier tests' requests, all from 127.0.0.1, must not refuse this test's."""
    from django.core.cache import cache

    cache.clear()
