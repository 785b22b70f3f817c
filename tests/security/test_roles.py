"""The tenant-isolation walk, for roles: merchant A's staff teammate opens every
dashboard URL. Owner-only pages and actions answer 403 or 404 and change nothing; the
staff pages open; owner-only secrets never show. Removing someone from the team, or
changing their role, counts from their very next request (the role is read per request,
never kept in the session)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.security.conftest import a_state
from tests.security.urlwalk import routes

pytestmark = pytest.mark.django_db

# What only a project's owners may open (members.permissions.OWNER_ACTIONS minus staff's).
OWNER_ONLY = {
    "members:project_edit",
    "members:project_branding",
    "members:api_keys",
    "members:api_key_revoke",
    "members:project_team_role",
    "members:project_team_remove",
    "members:project_invitation_revoke",
    "chain:wallet_key_set",
    "chain:wallet_key_replace",
    "chain:wallet_confirmations_set",
    "links:settle",
    "links:refund",
    *(f"webhooks:{n}" for n in ("detail", "rotate", "toggle", "delete", "test", "redeliver")),
}
# Pages staff opens: links, members, payments, the team list.
STAFF_OPENS = {
    "links:all_payments",
    "links:export_csv",
    "links:create",
    "links:detail",
    "links:qr_png",
    "links:cancel",
    "members:list",
    "members:create",
    "members:edit",
    "members:projects",
    "members:project_team",
}


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _body(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode(errors="replace")


def _dashboard(world):
    return [(r.name, r.url(world)) for r in routes() if r.kind == "dashboard"]


def test_the_lists_name_real_routes():
    names = {r.name for r in routes()}
    assert OWNER_ONLY <= names and STAFF_OPENS <= names


def test_staff_gets_403_or_404_on_every_owner_only_url_and_changes_nothing(world):
    staff = _client(world.staff_a)
    before = a_state(world)
    for name, url in _dashboard(world):
        if name not in OWNER_ONLY:
            continue
        for method in ("get", "post"):
            response = getattr(staff, method)(url)
            assert response.status_code in (403, 404, 405), f"{method.upper()} {url} ({name}) answered {response.status_code}"
            assert not [m for m in world.owner_only_markers() if m in _body(response)]
    assert a_state(world) == before


def test_staff_never_sees_an_owner_only_secret_anywhere(world):
    staff = _client(world.staff_a)
    for name, url in _dashboard(world):
        response = staff.get(url)
        assert response.status_code in (200, 302, 403, 404, 405), f"GET {url} ({name}) answered {response.status_code}"
        leaked = [m for m in world.owner_only_markers() if m in _body(response)]
        assert not leaked, f"GET {url} ({name}) showed staff an owner-only secret"


def test_staff_opens_the_staff_pages_of_the_project(world):
    staff = _client(world.staff_a)
    for name, url in _dashboard(world):
        if name in STAFF_OPENS:
            response = staff.get(url)
            assert response.status_code == 200, f"GET {url} ({name}) answered {response.status_code} to staff"
    page = _body(staff.get(f"/payments/{world.link_a.code}/"))
    assert world.link_a.description in page
    assert 'id="settle-link"' not in page and 'id="refund-link"' not in page  # owners only


def test_staff_sees_the_team_but_cannot_invite(world):
    from members.models import Invitation

    staff = _client(world.staff_a)
    url = f"/members/projects/{world.project_a.pk}/team/"
    page = _body(staff.get(url))
    assert "stefan" in page and "merchant" in page and "newbie@example.com" in page
    assert 'id="invite-form"' not in page
    before = Invitation.objects.count()
    assert staff.post(url, {"email": "mallory@example.com", "role": "owner"}).status_code == 403
    assert Invitation.objects.count() == before


def test_removing_a_teammate_ends_their_access_on_their_next_request(world):
    staff = _client(world.staff_a)
    link_url = f"/payments/{world.link_a.code}/"
    assert staff.get(link_url).status_code == 200
    owner = _client(world.merchant_a)
    response = owner.post(f"/members/projects/{world.project_a.pk}/team/{world.staff_a.pk}/remove/")
    assert response.status_code == 302
    # The same session, signed in all along: nothing of A's opens any more.
    assert staff.get(link_url).status_code == 404
    assert world.link_a.code not in _body(staff.get("/payments/"))
    assert world.member_a.email not in _body(staff.get("/members/"))
    assert staff.get(f"/members/projects/{world.project_a.pk}/team/").status_code == 404
    assert staff.post(f"/payments/{world.link_a.code}/cancel/").status_code == 404


def test_a_new_role_counts_from_the_next_request(world):
    staff = _client(world.staff_a)
    keys_url = f"/members/projects/{world.project_a.pk}/api-keys/"
    assert staff.get(keys_url).status_code == 403
    owner = _client(world.merchant_a)
    owner.post(f"/members/projects/{world.project_a.pk}/team/{world.staff_a.pk}/role/", {"role": "owner"})
    assert staff.get(keys_url).status_code == 200
    owner.post(f"/members/projects/{world.project_a.pk}/team/{world.staff_a.pk}/role/", {"role": "staff"})
    assert staff.get(keys_url).status_code == 403


def test_another_merchants_staff_sees_nothing_of_a(world, django_user_model):
    from members.models import TeamMember

    outsider = django_user_model.objects.create_user(username="olga", email="olga@example.com", password="x-olga-pass-9")
    TeamMember.objects.create(project=world.project_b, user=outsider, role="staff")
    client = _client(outsider)
    for route in routes():
        if route.kind == "dashboard" and route.params:
            url = route.url(world)
            for method in ("get", "post"):
                status = getattr(client, method)(url).status_code
                assert status in (404, 405), f"{method.upper()} {url} ({route.name}) answered {status} to B's staff"
