"""Writes for a project's team: invite by email with a role, accept, change a role,
remove someone, revoke an invitation. Keyword-only, atomic; a refusal raises
TeamRefused with words for the owner. Who may call these is the views' business
(members.permissions); these keep the team whole: a project always has an owner."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from members.models import INVITATION_LIFETIME, Invitation, Project, Role, TeamMember
from members.permissions import project_role
from members.signals import invitation_created


class TeamRefused(Exception):
    """The change would leave the team wrong (the message says why)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.PAYRAM_BASE_URL.rstrip('/')}/invite/{token}/"


def invitation_create(*, project: Project, email: str, role: str, invited_by) -> tuple[Invitation, str]:
    """A new invitation and the accept link (shown once; only the token's hash is kept).
    Earlier pending invitations of the same address to this project are revoked."""
    email = email.strip().lower()
    if role not in Role.values:
        raise TeamRefused("Pick a role: owner or staff.")
    existing = get_user_model().objects.filter(email__iexact=email)
    if any(project_role(user, project) for user in existing):
        raise TeamRefused(f"{email} is already on this project's team.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(project=project, email=email, accepted_at=None, revoked_at=None).update(revoked_at=now)
        invitation = Invitation.objects.create(
            project=project,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=invited_by,
            expires_at=now + INVITATION_LIFETIME,
        )
        url = invitation_url(token)
        invitation_created.send(sender=Invitation, invitation=invitation, url=url)
    return invitation, url


def invitation_by_token(token: str) -> Invitation | None:
    """The pending invitation this token opens, or None (unknown, used, revoked, expired)."""
    if not token or len(token) > 100:
        return None
    invitation = Invitation.objects.select_related("project", "invited_by").filter(token_hash=token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_pending else None


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(revoked_at=timezone.now())


def _set_role(project: Project, user, role: str, *, added_by=None) -> None:
    if role == Role.OWNER:
        TeamMember.objects.filter(project=project, user=user).delete()
        project.owners.add(user)
    else:
        project.owners.remove(user)
        TeamMember.objects.update_or_create(project=project, user=user, defaults={"role": role, "added_by": added_by})


def invitation_accept(*, token: str, user) -> Invitation:
    """Put `user` on the invitation's team with its role. Single use: the invitation is
    locked and marked accepted in the same transaction. The user's email must be the
    invited one. Someone already on the team keeps the higher of the two roles."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(token_hash=token_hash(token or ""))
            .first()
        )
        if invitation is None or not invitation.is_pending:
            raise TeamRefused("This invitation is not valid any more: it was used, withdrawn or it expired.")
        if (user.email or "").strip().lower() != invitation.email:
            raise TeamRefused(f"This invitation is for {invitation.email}. Sign in with that account to accept it.")
        current = project_role(user, invitation.project)
        if current != Role.OWNER:
            _set_role(invitation.project, user, invitation.role, added_by=invitation.invited_by)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return invitation


def _owner_count(project: Project) -> int:
    return Project.owners.through.objects.filter(project_id=project.pk).count()


def team_role_change(*, project: Project, user, role: str, changed_by) -> None:
    if role not in Role.values:
        raise TeamRefused("Pick a role: owner or staff.")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one team change at a time
        current = project_role(user, project)
        if current is None:
            raise TeamRefused("That person is not on this project's team.")
        if current == Role.OWNER and role != Role.OWNER and _owner_count(project) <= 1:
            raise TeamRefused("A project needs an owner: make someone else owner first.")
        _set_role(project, user, role, added_by=changed_by)


def team_member_remove(*, project: Project, user) -> None:
    """Take `user` off the team: their next request no longer opens anything of it."""
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        current = project_role(user, project)
        if current is None:
            return
        if current == Role.OWNER and _owner_count(project) <= 1:
            raise TeamRefused("A project needs an owner: make someone else owner before removing the last one.")
        project.owners.remove(user)
        TeamMember.objects.filter(project=project, user=user).delete()


def team_of(project: Project) -> list[dict]:
    """Who is on the team, owners first: {user, role}."""
    owners = [{"user": u, "role": Role.OWNER} for u in project.owners.order_by("username", "id")]
    staff = [
        {"user": m.user, "role": m.role}
        for m in TeamMember.objects.filter(project=project).select_related("user").order_by("user__username", "id")
    ]
    return owners + staff


def pending_invitations(project: Project) -> list[Invitation]:
    now = timezone.now()
    return list(
        Invitation.objects.filter(project=project, accepted_at=None, revoked_at=None, expires_at__gt=now).select_related(
            "invited_by"
        )
    )
