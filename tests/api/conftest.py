"""Fixtures for the REST API tests: a project's key, an API client that sends it, and a
check that an answer is the one the OpenAPI document promises."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from links.api.schema import OPENAPI


@pytest.fixture
def api_key(project):
    from members.services import api_key_create

    _, key = api_key_create(project=project, name="Shop checkout")
    return key


@pytest.fixture
def other_api_key(other_project):
    from members.services import api_key_create

    _, key = api_key_create(project=other_project, name="Rival shop")
    return key


class ApiClient:
    """Django's test client speaking JSON with a bearer key (no session, no CSRF token)."""

    def __init__(self, client, key: str | None) -> None:
        self.client = client
        self.key = key

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {}, **self._headers())

    def post(self, path: str, body=None, *, raw: bytes | str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type="application/json", **self._headers())

    def request(self, method: str, path: str):
        return self.client.generic(method, path, **self._headers())


@pytest.fixture
def api(api_key):
    from django.test import Client

    # enforce_csrf_checks: the API must work without a CSRF token, as a shop's server calls it.
    return ApiClient(Client(enforce_csrf_checks=True), api_key)


@pytest.fixture
def other_api(other_api_key):
    from django.test import Client

    return ApiClient(Client(enforce_csrf_checks=True), other_api_key)


@pytest.fixture
def anonymous():
    from django.test import Client

    return ApiClient(Client(enforce_csrf_checks=True), None)


def documented(response, path: str, method: str) -> dict:
    """The response's JSON, after checking that its status is documented for the operation
    and its body validates against the documented schema. Returns the body."""
    operation = OPENAPI["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered undocumented {status}: {response.content[:300]!r}"
    described = operation["responses"][status]
    if "$ref" in described:
        described = OPENAPI["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    schema = {**described["content"]["application/json"]["schema"], "components": OPENAPI["components"]}
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    errors = [str(e) for e in validator.iter_errors(body)]
    assert not errors, f"{method} {path} {status} does not match the document: {errors}"
    return body


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The merchant fixture sets a password; the default PBKDF2 costs ~1 s a test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
