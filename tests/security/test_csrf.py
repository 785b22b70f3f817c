"""Every URL refuses a POST without the CSRF token (403), signed in or not, and nothing is
written. Only the REST API is exempt: it reads a bearer key, never the session cookie."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch

from tests.security.conftest import row_counts
from tests.security.urlwalk import routes

pytestmark = pytest.mark.django_db


def _urls(world) -> list[tuple[str, str]]:
    found = []
    for route in routes():
        if route.kind == "api" or route.name.startswith("api:") or (route.kind == "admin" and route.params):
            continue
        try:
            found.append((route.name, route.url(world)))
        except NoReverseMatch:  # admin regex patterns with unnamed groups
            continue
    return found


@pytest.mark.parametrize("who", ["merchant_a", "visitor"])
def test_post_without_token_is_refused_everywhere(world, who):
    client = Client(enforce_csrf_checks=True)
    if who == "merchant_a":
        client.force_login(world.merchant_a)
    client.get("/login/")  # a CSRF cookie exists, only the token in the form is missing
    before = row_counts()
    for name, url in _urls(world):
        response = client.post(url, {"name": "x", "choice": "devnet:USDC", "email": "x@example.com"})
        assert response.status_code == 403, f"POST {url} ({name}) answered {response.status_code} without a CSRF token"
    assert row_counts() == before


def test_post_with_the_token_is_accepted(world):
    """The 403s above are the token's doing: the same POST with it goes through."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.merchant_a)
    client.get("/members/projects/")
    token = client.cookies["csrftoken"].value
    response = client.post("/members/projects/", {"name": "New shop", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_htmx_requests_carry_the_token_in_a_header(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.merchant_a)
    client.get("/members/projects/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/payments/{world.link_a.code}/cancel/", HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert response.status_code == 302
