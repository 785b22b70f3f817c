"""Admin for webhooks and the email outbox (/admin/notifications/)."""

from django.contrib import admin
from django.db import models

from links.notifications.models import OutboundEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

# Webhooks: inspect endpoints, events and every delivery attempt. Signing secrets are
# never shown here (they are shown once in the dashboard at creation or rotation).


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "project", "is_active", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a bare host means https
    list_filter = ["is_active", "project"]
    list_select_related = ["project"]
    exclude = ["secret"]
    readonly_fields = ["code", "project", "secret_rotated_at", "created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "project", "link", "created_at"]
    list_filter = ["type"]
    list_select_related = ["project", "link"]
    readonly_fields = ["id", "project", "link", "type", "payload", "created_at"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "attempted_at", "status_code", "duration_ms", "response_excerpt", "error"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "state", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["state"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = ["event", "endpoint", "attempts", "last_status_code", "manual", "created_at", "updated_at"]
    inlines = [WebhookAttemptInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "attempted_at", "status_code", "duration_ms", "error"]
    list_select_related = ["delivery"]
    readonly_fields = ["delivery", "number", "attempted_at", "status_code", "duration_ms", "response_excerpt", "error"]


# The email outbox: what was sent, to whom, and what became of it. Read-only (resend a
# failed email from the link's page, which queues it again with its own retries);
# deletable, so deleting a link here is not blocked by its emails.


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "link", "status", "attempts", "created_at", "sent_at", "next_attempt_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["link"]
    search_fields = ["link__code"]
    readonly_fields = [
        "link",
        "kind",
        "recipients",
        "from_email",
        "subject",
        "text",
        "html",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
