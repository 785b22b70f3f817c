"""Every dashboard URL, opened as another merchant and as a signed-out visitor: a 404 or
the sign-in page, never merchant A's data, and nothing of A's changed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch

from tests.security.conftest import a_state
from tests.security.urlwalk import routes

pytestmark = pytest.mark.django_db


def test_every_url_pattern_is_classified():
    unclassified = [r.name for r in routes() if r.kind == "unclassified"]
    assert not unclassified, (
        f"classify these URL names as public, admin or dashboard in tests/security/urlwalk.py: {unclassified}"
    )


def _dashboard_urls(world) -> list[tuple[str, str]]:
    urls = []
    for route in routes():
        if route.kind == "dashboard":
            urls.append((route.name, route.url(world)))
    assert len(urls) >= 10  # the walker found the dashboard
    return urls


def _login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_signed_out_visitor_gets_the_sign_in_page_everywhere(world):
    visitor = Client()
    before = a_state(world)
    for name, url in _dashboard_urls(world):
        for method in ("get", "post"):
            response = getattr(visitor, method)(url)
            assert _login_redirect(response), f"{method.upper()} {url} ({name}) answered {response.status_code}"
    assert a_state(world) == before


def test_another_merchant_never_sees_or_changes_merchant_a(world):
    rival = Client()
    rival.force_login(world.merchant_b)
    before = a_state(world)
    markers = world.a_markers()
    for name, url in _dashboard_urls(world):
        for method in ("get", "post"):
            response = getattr(rival, method)(url)
            status = response.status_code
            assert status in (200, 302, 400, 404, 405), f"{method.upper()} {url} ({name}) answered {status}"
            if status == 302:
                assert "alpha" not in response["Location"].lower() and world.link_a.code not in response["Location"]
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode(errors="replace")
            leaked = [m for m in markers if m.lower() in text.lower()]
            assert not leaked, f"{method.upper()} {url} ({name}) showed merchant A's {leaked}"
    assert a_state(world) == before


def test_merchant_a_can_open_every_dashboard_url(world):
    """The walk above proves something only if the same URLs open for their owner."""
    owner = Client()
    owner.force_login(world.merchant_a)
    for name, url in _dashboard_urls(world):
        response = owner.get(url)
        assert response.status_code in (200, 302, 405), f"GET {url} ({name}) answered {response.status_code} to its owner"


def test_path_arguments_of_merchant_a_give_merchant_b_a_404(world):
    rival = Client()
    rival.force_login(world.merchant_b)
    for route in routes():
        if route.kind != "dashboard" or not route.params:
            continue
        url = route.url(world)
        for method in ("get", "post"):
            status = getattr(rival, method)(url).status_code
            assert status in (404, 405), f"{method.upper()} {url} ({route.name}) answered {status} to another merchant"


def test_admin_is_for_staff_only(world):
    for client in (Client(), _signed_in(world.merchant_b)):
        for route in routes():
            if route.kind != "admin" or route.params or "login" in route.name or "logout" in route.name:
                continue
            try:
                url = route.url(world)
            except NoReverseMatch:  # regex patterns (app_list, view_on_site) take unnamed groups
                continue
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (route.name, response.status_code)


def _signed_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_api_ignores_session_cookies(world):
    """The REST API answers to a project's bearer key only: a signed-in merchant's cookie
    (which a cross-site form could carry, the API being CSRF-exempt) opens nothing."""
    for client in (Client(), _signed_in(world.merchant_a), _signed_in(world.merchant_b)):
        for route in routes():
            if route.kind != "api":
                continue
            url = route.url(world)
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code in (401, 403, 405), (
                    f"{method.upper()} {url} answered {response.status_code} without a key"
                )
                assert not [m for m in world.a_markers() if m in response.content.decode()]
