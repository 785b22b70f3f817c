"""A project's logo (models live here; members/models.py imports them).

The logo is kept in the database, not on disk, so a database backup keeps it. What is
stored is never the upload itself: members.branding decodes it and re-encodes a PNG
(no metadata, nothing but pixels), and only that is ever served."""

from __future__ import annotations

from django.db import models

__all__ = ["ProjectLogo"]


class ProjectLogo(models.Model):
    """One project's logo, a PNG payram made. Its own table so that loading a project
    (every page does) never loads the image."""

    project = models.OneToOneField("members.Project", on_delete=models.CASCADE, related_name="logo")
    png = models.BinaryField()
    content_type = models.CharField(max_length=40, default="image/png")
    sha256 = models.CharField(max_length=64, db_index=True)  # the public URL and the ETag
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"logo of project {self.project_id} ({self.width}×{self.height})"
