"""API keys: stored as a hash only, revocable, scoped to one project; the dashboard page."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from members.models import ApiKey

pytestmark = pytest.mark.django_db


def _every_text_in_the_database() -> str:
    """All the api key table's cells, as text, straight from SQL (not through the model)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
        return " ".join(str(cell) for row in cursor.fetchall() for cell in row)


def test_the_database_holds_the_hash_and_prefix_never_the_key(project):
    from members.services import api_key_create

    api_key, key = api_key_create(project=project, name="Shop")
    assert key.startswith("pk_live_") and len(key) >= 40
    stored = _every_text_in_the_database()
    assert key not in stored
    assert key[len("pk_live_") + 10 :] not in stored  # not even the secret part past the shown prefix
    assert api_key.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(api_key.prefix) and len(api_key.prefix) == len("pk_live_") + 8


def test_two_keys_differ(project):
    from members.services import api_key_create

    _, first = api_key_create(project=project, name="A")
    _, second = api_key_create(project=project, name="A")
    assert first != second


def test_a_valid_key_is_accepted_and_marks_last_used(api, project):
    assert ApiKey.objects.get().last_used_at is None
    assert api.get("/api/v1/links").status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer pk_live_nope", "Bearer pk_live_" + "A" * 43, "Token x"],
)
def test_no_key_or_a_wrong_key_is_401_with_www_authenticate(client, project, api_key, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/api/v1/links", **kwargs)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert list(response.json()["errors"]) == ["authorization"]


def test_a_key_that_differs_only_after_the_prefix_is_refused(client, api_key):
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    response = client.get("/api/v1/links", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401


def test_a_revoked_key_is_refused(api, api_key):
    from members.services import api_key_revoke

    assert api.get("/api/v1/links").status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get())
    response = api.get("/api/v1/links")
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"]["authorization"][0]


def test_the_bearer_scheme_is_case_insensitive(client, api_key):
    assert client.get("/api/v1/links", HTTP_AUTHORIZATION=f"bearer {api_key}").status_code == 200


def test_dashboard_creates_a_key_shows_it_once_and_revokes_it(merchant_client, project, client):
    page = merchant_client.get(f"/members/projects/{project.pk}/api-keys/")
    assert page.status_code == 200 and "No API keys yet" in page.content.decode()

    response = merchant_client.post(f"/members/projects/{project.pk}/api-keys/", {"name": "Shop checkout"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key in response.content.decode()
    api_key = ApiKey.objects.get()
    assert (api_key.project, api_key.name) == (project, "Shop checkout")
    assert client.get("/api/v1/links", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

    again = merchant_client.get(f"/members/projects/{project.pk}/api-keys/").content.decode()
    assert key not in again and api_key.prefix in again  # shown once; later only its prefix

    revoked = merchant_client.post(f"/members/projects/{project.pk}/api-keys/{api_key.pk}/revoke/")
    assert revoked.status_code == 302
    assert client.get("/api/v1/links", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert "Revoked" in merchant_client.get(f"/members/projects/{project.pk}/api-keys/").content.decode()


def test_dashboard_key_needs_a_name(merchant_client, project):
    response = merchant_client.post(f"/members/projects/{project.pk}/api-keys/", {"name": "   "})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoke_is_post_only(merchant_client, project):
    from members.services import api_key_create

    api_key, _ = api_key_create(project=project, name="Shop")
    assert merchant_client.get(f"/members/projects/{project.pk}/api-keys/{api_key.pk}/revoke/").status_code == 405
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_another_merchants_project_keys_are_not_found(client, other_merchant, project, password):
    from members.services import api_key_create

    api_key, _ = api_key_create(project=project, name="Shop")
    client.force_login(other_merchant)
    assert client.get(f"/members/projects/{project.pk}/api-keys/").status_code == 404
    assert client.post(f"/members/projects/{project.pk}/api-keys/", {"name": "Mine now"}).status_code == 404
    assert client.post(f"/members/projects/{project.pk}/api-keys/{api_key.pk}/revoke/").status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None and ApiKey.objects.count() == 1


def test_the_key_pages_need_a_login(client, project):
    response = client.get(f"/members/projects/{project.pk}/api-keys/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_projects_page_links_to_the_keys(merchant_client, project):
    page = merchant_client.get("/members/projects/").content.decode()
    assert f"/members/projects/{project.pk}/api-keys/" in page
