from django.contrib import admin
from django.db import models

from links.models import PaymentLink, Quote
from links.status import refresh_link_status


class QuoteInline(admin.TabularInline):
    model = Quote
    extra = 0
    can_delete = False
    readonly_fields = ["network", "asset", "deposit_address", "amount_due", "rate", "rate_source", "created_at", "expires_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentLink)
class PaymentLinkAdmin(admin.ModelAdmin):
    list_display = ["code", "project", "member", "amount", "currency", "status", "status_detail", "created_at", "paid_at"]
    list_filter = ["status", "project", "currency"]
    search_fields = ["code", "member__email", "description"]
    list_select_related = ["project", "member"]
    raw_id_fields = ["member", "created_by"]
    # Status and what was received are derived by links.status.refresh_link_status only.
    readonly_fields = [
        "code",
        "status",
        "status_detail",
        "amount_received",
        "received_network",
        "received_asset",
        "paid_at",
        "status_updated_at",
        "created_at",
    ]
    inlines = [QuoteInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        refresh_link_status(obj)  # e.g. an admin set cancelled_at or moved the expiry


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["link", "network", "asset", "amount_due", "rate", "created_at", "expires_at"]
    list_filter = ["network", "asset"]
    search_fields = ["link__code"]
    raw_id_fields = ["link", "deposit_address"]


# Webhooks: inspect endpoints, events and every delivery attempt. Signing secrets are
# never shown here (they are shown once in the dashboard at creation or rotation).
from links.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent  # noqa: E402


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
from links.email_models import OutboundEmail  # noqa: E402


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


# Settlements by hand and refunds: audit records, read-only (the link's page makes them).
from links.resolution_models import LinkSettlement, Refund  # noqa: E402


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LinkSettlement)
class LinkSettlementAdmin(_ReadOnly):
    list_display = ["link", "settled_by_name", "status_before", "detail_before", "created_at"]
    list_select_related = ["link"]
    search_fields = ["link__code", "settled_by_name"]


@admin.register(Refund)
class RefundAdmin(_ReadOnly):
    list_display = ["code", "link", "state", "asset", "network", "amount", "created_at", "sent_at"]
    list_filter = ["state", "network"]
    list_select_related = ["link"]
    search_fields = ["code", "link__code", "address", "sent_tx"]
