"""Per-project API keys (models live here; members/models.py imports them).

The full key is shown to the merchant once, at creation. Only its SHA-256 hash is
stored, with a short prefix the dashboard shows so a key can be recognised."""

from __future__ import annotations

from django.db import models

__all__ = ["ApiKey"]


class ApiKey(models.Model):
    project = models.ForeignKey("members.Project", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24, db_index=True)  # "pk_live_ab12cd34": shown, not secret enough to use
    key_hash = models.CharField(max_length=64, unique=True)  # SHA-256 hex of the full key
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
