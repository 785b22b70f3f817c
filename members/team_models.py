"""A project's team (models live here; members/models.py imports them).

A project's owners are Project.owners, as before teams: every owner-only page keeps
asking exactly that. Everyone else on the team is a TeamMember row with a role below
owner (staff). Invitations carry the role the invitee gets; their token is shown once
(in the email and to the owner who sent it) and only its SHA-256 hash is stored."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

__all__ = ["INVITATION_LIFETIME", "Invitation", "Role", "TeamMember"]

INVITATION_LIFETIME = timedelta(days=7)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class TeamMember(models.Model):
    """Someone on a project's team who is not one of its owners."""

    project = models.ForeignKey("members.Project", on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=[(Role.STAFF.value, Role.STAFF.label)], default=Role.STAFF)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint("project", "user", name="team_member_once_per_project")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.project_id}"


class Invitation(models.Model):
    """An owner's invitation to join a project's team by email: single use, 7 days."""

    project = models.ForeignKey("members.Project", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)  # SHA-256 hex of the token in the link
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(Lower("email"), "project", name="invitation_email_project")]

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    def __str__(self) -> str:
        return f"{self.email} as {self.role} to {self.project_id}"
