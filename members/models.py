from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Project(models.Model):
    """A merchant's store. Holds its wallets (chain.Wallet), confirmation policy and members."""

    name = models.CharField(max_length=100)
    return_url = models.URLField(
        "return URL", max_length=500, blank=True, help_text="Where the customer goes back to after paying (optional)."
    )
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="projects")
    # network slug -> confirmations required; missing networks use the catalogue default.
    confirmation_overrides = models.JSONField(default=dict, blank=True)
    # Percent of the amount due a payment may be short and still count as paid (links.tolerance).
    underpayment_tolerance = models.DecimalField(max_digits=4, decimal_places=2, default=0)
    # The project's own look on the pay page and receipt (members.branding); the logo is ProjectLogo.
    brand_colour = models.CharField(max_length=7, blank=True, default="", db_default="")  # "#rrggbb" or "" (payram's blue)
    brand_message = models.CharField(max_length=280, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A customer of one project. Email is stored lower-cased: unique per project, case-insensitive."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="members")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "project", name="member_email_unique_per_project"),
        ]

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


from members.api_models import *  # noqa: E402,F401,F403  (API key models, same app)
from members.brand_models import *  # noqa: E402,F401,F403  (the project's logo, same app)
from members.team_models import *  # noqa: E402,F401,F403  (team and invitations, same app)
