"""Two merchants. A owns a project with an EVM wallet, a member, a link with a quote, a
staff teammate and a pending invitation, and marker strings that must never reach
merchant B or a signed-out visitor (nor, for the owner-only ones, A's staff)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.links.pay_support import make_link
from tests.links.test_checkout import EVM_XPUB, FIRST_ADDRESS, shop  # noqa: F401 - fixture

MARK = "alpha7f3e"


@dataclass
class World:
    merchant_a: object
    merchant_b: object
    project_a: object
    project_b: object
    member_a: object
    member_b: object
    link_a: object
    link_b: object
    extra_args: dict
    secrets: list
    staff_a: object = None
    invite_token: str = "set-password"

    def a_markers(self) -> list[str]:
        """Strings only merchant A's pages (and A's customers) may show."""
        return [MARK, self.link_a.code, EVM_XPUB, FIRST_ADDRESS, self.member_a.email, *self.secrets]

    def owner_only_markers(self) -> list[str]:
        """What A's staff may not see either: the wallet key, the webhook and API secrets."""
        return [EVM_XPUB, *self.secrets]


@pytest.fixture
def world(shop, merchant, other_merchant, other_project):  # noqa: F811
    from links.checkout import quote_create
    from members.models import Member, Project

    Project.objects.filter(pk=shop.pk).update(name=f"Shop {MARK}", return_url=f"https://{MARK}.example.com/thanks")
    shop.refresh_from_db()
    member_a = Member.objects.create(project=shop, email=f"{MARK}@example.com", name=f"Person {MARK}")
    member_b = Member.objects.create(project=other_project, email="bob@example.org", name="Bob")
    link_a = make_link(shop, member_a, description=f"order {MARK}")
    quote_create(link=link_a, network="devnet", asset="USDC")
    link_b = make_link(other_project, member_b, description="rival order")
    extra, secrets = _webhooks_and_api_keys(shop, link_a)
    staff_a, token = _team(shop, merchant, extra)
    return World(
        merchant, other_merchant, shop, other_project, member_a, member_b, link_a, link_b, extra, secrets, staff_a, token
    )


def _team(project, owner, extra: dict):
    """Merchant A's staff teammate and a pending invitation, for the Team pages."""
    from django.contrib.auth import get_user_model

    from members import team
    from members.models import TeamMember

    staff = get_user_model().objects.create_user(username="stefan", email="stefan@example.com", password="x-staff-pass-9")
    TeamMember.objects.create(project=project, user=staff, role="staff", added_by=owner)
    invitation, url = team.invitation_create(project=project, email="newbie@example.com", role="staff", invited_by=owner)
    for name in ("project_team_role", "project_team_remove"):
        extra[(f"members:{name}", "user_id")] = staff.pk
    extra[("members:project_invitation_revoke", "invitation_id")] = invitation.pk
    return staff, url.rstrip("/").rsplit("/", 1)[1]


def _webhooks_and_api_keys(project, link) -> tuple[dict, list]:
    """Merchant A's webhook endpoint, event and API key, for the pages that name them."""
    import hashlib
    import secrets

    from links.notifications.models import WebhookEndpoint, WebhookEvent
    from members.models import ApiKey

    endpoint = WebhookEndpoint.objects.create(project=project, url=f"https://{MARK}.example.com/hook", events=["link.paid"])
    event = WebhookEvent.objects.create(project=project, link=link, type="link.paid", payload={"code": link.code})
    raw_key = "pk_live_" + secrets.token_hex(16)
    key = ApiKey.objects.create(
        project=project, name=f"key {MARK}", prefix=raw_key[:16], key_hash=hashlib.sha256(raw_key.encode()).hexdigest()
    )
    extra = {("webhooks:redeliver", "event_id"): event.pk, ("members:api_key_revoke", "key_id"): key.pk}
    for name in ("detail", "rotate", "toggle", "delete", "test", "redeliver"):
        extra[(f"webhooks:{name}", "code")] = endpoint.code
    extra[("emails:resend", "email_id")] = _failed_email(link).pk
    from links.models import Refund  # the customer's refund page of merchant A's link

    refund = Refund.objects.create(
        link=link, network="devnet", asset="USDC", amount=1_000_000, reason="overpaid", requested_by_name=MARK
    )
    extra[("pay:refund", "refund_code")] = refund.code
    return extra, [endpoint.secret, raw_key]


def _failed_email(link):
    """Merchant A's email that gave up, for the link page's Resend."""
    from links.notifications.models import EmailKind, EmailStatus, OutboundEmail

    return OutboundEmail.objects.create(
        link=link,
        kind=EmailKind.LINK_TO_MEMBER,
        recipients=[link.member.email],
        from_email="payram@localhost",
        subject=f"Payment request from Shop {MARK}",
        text=f"Pay {MARK}",
        status=EmailStatus.FAILED,
        attempts=6,
        last_error="ConnectionRefusedError: the mail server refused the connection",
    )


def row_counts() -> dict[str, int]:
    """Every model's row count: a refused request must leave all of them as they were."""
    from django.apps import apps

    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.managed}


def a_state(world: World) -> dict:
    """What merchant A would notice changed."""
    from chain.models import Wallet
    from links.models import PaymentLink
    from links.notifications.models import OutboundEmail, WebhookEndpoint
    from members.models import ApiKey, Invitation, Member, Project, TeamMember

    project = Project.objects.get(pk=world.project_a.pk)
    return {
        "project": (project.name, project.return_url, project.confirmation_overrides, project.underpayment_tolerance),
        "owners": sorted(project.owners.values_list("username", flat=True)),
        "team": sorted(TeamMember.objects.filter(project=project).values_list("user__username", "role")),
        "invitations": sorted(
            Invitation.objects.filter(project=project).values_list("email", "role", "revoked_at", "accepted_at")
        ),
        "api_keys": sorted(ApiKey.objects.filter(project=project).values_list("name", "revoked_at")),
        "webhooks": sorted(WebhookEndpoint.objects.filter(project=project).values_list("url", "events", "is_active", "secret")),
        "members": sorted(Member.objects.filter(project=project).values_list("email", "name")),
        "links": sorted(PaymentLink.objects.filter(project=project).values_list("code", "status", "cancelled_at", "description")),
        "wallets": sorted(Wallet.objects.filter(project=project).values_list("family", "xpub", "next_index")),
        "emails": sorted(OutboundEmail.objects.filter(link__project=project).values_list("id", "status", "attempts")),
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Sign-in tests make many failed attempts; the real hasher's cost is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
