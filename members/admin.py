from django.contrib import admin
from django.db import models

from members.brand_models import ProjectLogo
from members.models import ApiKey, Invitation, Member, Project, TeamMember


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "return_url", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["owners"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a bare host means https


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["email", "name"]
    list_select_related = ["project"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created in the dashboard (shown once there); here they can be seen and
    revoked (set "revoked at"), never read back: only a prefix and a hash are stored."""

    list_display = ["name", "prefix", "project", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["project"]
    list_select_related = ["project"]
    readonly_fields = ["project", "name", "prefix", "key_hash", "created_at", "last_used_at"]
    fields = ["project", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    """A project's staff (its owners are Project.owners). Owners manage these on the Team page."""

    list_display = ["user", "project", "role", "added_by", "created_at"]
    list_filter = ["project", "role"]
    list_select_related = ["user", "project", "added_by"]
    raw_id_fields = ["user", "added_by"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Seen and withdrawn (set "revoked at") here; sent from the Team page, where the link
    is shown once: only its token's hash is stored."""

    list_display = ["email", "project", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["project", "role"]
    list_select_related = ["project", "invited_by"]
    search_fields = ["email"]
    readonly_fields = [
        "project",
        "email",
        "role",
        "token_hash",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    ]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ProjectLogo)
class ProjectLogoAdmin(admin.ModelAdmin):
    """Read-only: a logo is set (validated and re-encoded) on the project's Look page."""

    list_display = ("project", "content_type", "width", "height", "sha256", "uploaded_at")
    exclude = ("png",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
