"""A project's team: invitations by email with a role, accepting them (a new account or
the signed-in one), what each role may do, and the team always keeping an owner."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from members import team
from members.models import Invitation, TeamMember
from members.permissions import can, project_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def email_on(settings, mailoutbox, monkeypatch):
    from payram.lib import background

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setattr(background, "EAGER_IN_THREAD", False)  # send inline, in the test's transaction
    return mailoutbox


def _invite(client, project, email: str, role: str = "staff"):
    response = client.post(f"/members/projects/{project.pk}/team/", {"email": email, "role": role})
    assert response.status_code == 200, response.content[:500]
    return re.search(r"/invite/([\w-]+)/", response.content.decode()).group(1)


def test_the_owner_invites_by_email_and_only_the_token_hash_is_stored(
    merchant_client, project, email_on, django_capture_on_commit_callbacks
):
    from links.notifications.models import OutboundEmail

    with django_capture_on_commit_callbacks(execute=True):
        token = _invite(merchant_client, project, "Sam@Example.com")
    invitation = Invitation.objects.get(project=project)
    assert (invitation.email, invitation.role) == ("sam@example.com", "staff")
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    email = OutboundEmail.objects.get(kind="team_invitation")
    assert email.link is None and email.recipients == ["sam@example.com"] and email.status == "sent"
    assert len(email_on) == 1 and f"/invite/{token}/" in email_on[0].body and project.name in email_on[0].subject
    page = merchant_client.get(f"/members/projects/{project.pk}/team/").content.decode()
    assert "sam@example.com" in page and token not in page  # the link is shown once


def test_a_new_address_signs_up_and_joins_as_staff(merchant_client, project, member):
    token = _invite(merchant_client, project, "sam@example.com")
    visitor = Client()
    page = visitor.get(f"/invite/{token}/")
    assert page.status_code == 200 and "Join Corner Shop" in page.content.decode()
    response = visitor.post(
        f"/invite/{token}/", {"username": "sam", "password1": "a-long-pass-phrase-7", "password2": "a-long-pass-phrase-7"}
    )
    assert response.status_code == 302 and response["Location"] == "/payments/"
    sam = TeamMember.objects.get(project=project).user
    assert (sam.username, sam.email, project_role(sam, project)) == ("sam", "sam@example.com", "staff")
    assert member.email in visitor.get("/members/").content.decode()  # signed in, on the team
    # Single use: the link no longer opens anything.
    assert Client().get(f"/invite/{token}/").status_code == 404


def test_an_existing_account_signs_in_and_joins(merchant_client, project, other_merchant, password):
    token = _invite(merchant_client, project, other_merchant.email, role="owner")
    visitor = Client()
    page = visitor.get(f"/invite/{token}/").content.decode()
    assert "Sign in to accept" in page
    visitor.force_login(other_merchant)
    assert 'id="accept"' in visitor.get(f"/invite/{token}/").content.decode()
    assert visitor.post(f"/invite/{token}/").status_code == 302
    assert project_role(other_merchant, project) == "owner"
    assert visitor.get(f"/members/projects/{project.pk}/api-keys/").status_code == 200


def test_another_signed_in_account_cannot_take_the_invitation(merchant_client, project, other_merchant):
    token = _invite(merchant_client, project, "sam@example.com")
    rival = Client()
    rival.force_login(other_merchant)
    page = rival.get(f"/invite/{token}/").content.decode()
    assert "This invitation is for sam@example.com" in page and 'id="accept"' not in page
    assert rival.post(f"/invite/{token}/").status_code == 400
    assert project_role(other_merchant, project) is None
    assert Invitation.objects.get(project=project).accepted_at is None


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown"])
def test_an_expired_withdrawn_or_unknown_invitation_is_404(merchant_client, project, how):
    token = _invite(merchant_client, project, "sam@example.com")
    invitation = Invitation.objects.get(project=project)
    if how == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "revoked":
        merchant_client.post(f"/members/projects/{project.pk}/invitations/{invitation.pk}/revoke/")
    else:
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    visitor = Client()
    response = visitor.get(f"/invite/{token}/")
    assert response.status_code == 404 and "does not work" in response.content.decode()
    post = visitor.post(f"/invite/{token}/", {"username": "sam", "password1": "a-long-pass-7x", "password2": "a-long-pass-7x"})
    assert post.status_code == 404
    assert not TeamMember.objects.filter(project=project).exists()


def test_inviting_again_withdraws_the_earlier_link(merchant_client, project):
    first = _invite(merchant_client, project, "sam@example.com")
    second = _invite(merchant_client, project, "sam@example.com", role="owner")
    assert Client().get(f"/invite/{first}/").status_code == 404
    assert Client().get(f"/invite/{second}/").status_code == 200


def test_someone_already_on_the_team_is_not_invited(merchant_client, project, merchant):
    response = merchant_client.post(f"/members/projects/{project.pk}/team/", {"email": merchant.email, "role": "staff"})
    assert response.status_code == 400 and "already on this project" in response.content.decode()


def test_the_invitation_page_is_rate_limited_per_address(merchant_client, project, settings):
    settings.PAYRAM_RATE_LIMITS = {"invite_ip": (3, 3600)}
    token = _invite(merchant_client, project, "sam@example.com")
    visitor = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [visitor.get(f"/invite/{token}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert Client(REMOTE_ADDR="203.0.113.10").get(f"/invite/{token}/").status_code == 200


def test_a_project_always_keeps_an_owner(merchant_client, project, merchant):
    response = merchant_client.post(f"/members/projects/{project.pk}/team/{merchant.pk}/remove/", follow=True)
    assert "needs an owner" in response.content.decode()
    merchant_client.post(f"/members/projects/{project.pk}/team/{merchant.pk}/role/", {"role": "staff"})
    assert project_role(merchant, project) == "owner"


def test_what_each_role_may_do(project, merchant, other_merchant):
    TeamMember.objects.create(project=project, user=other_merchant, role="staff")
    for action in ("view_payments", "create_link", "cancel_link", "share_link", "manage_members", "view_team"):
        assert can(merchant, project, action) and can(other_merchant, project, action), action
    for action in ("edit_project", "manage_team", "wallets", "api_keys", "webhooks", "settle", "refund"):
        assert can(merchant, project, action) and not can(other_merchant, project, action), action
    team.team_member_remove(project=project, user=other_merchant)
    assert project_role(other_merchant, project) is None


def test_staff_creates_a_link_and_the_dashboard_says_who(project, member, other_merchant):
    TeamMember.objects.create(project=project, user=other_merchant, role="staff")
    staff = Client()
    staff.force_login(other_merchant)
    response = staff.post("/payments/new/", {"project": project.pk, "member": member.email, "amount": "12.50", "currency": "USD"})
    assert response.status_code == 302, response.content[:500]
    link = project.links.get()
    assert link.created_by == other_merchant and link.amount == Decimal("12.50")
    assert "by rival" in staff.get("/payments/").content.decode()
    assert "rival" in staff.get(f"/payments/{link.code}/").content.decode()


def test_a_link_made_through_the_api_records_its_key(project, merchant_client):
    import json

    from members.services import api_key_create

    key_row, key = api_key_create(project=project, name="Shop checkout")
    response = Client().post(
        "/api/v1/links",
        json.dumps({"member_email": "ana@example.com", "amount": "5.00", "currency": "USD"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 201, response.content[:300]
    link = project.links.get()
    assert (link.created_by, link.created_by_api_key) == (None, key_row)
    assert "API key “Shop checkout”" in merchant_client.get(f"/payments/{link.code}/").content.decode()
