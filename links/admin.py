from django.contrib import admin

from links.models import LinkAddress, LinkSettlement, PaymentLink, Quote, Refund
from links.status import update_link_state


class QuoteInline(admin.TabularInline):
    model = Quote
    extra = 0
    can_delete = False
    readonly_fields = ["network", "asset", "deposit_address", "amount_due", "rate", "rate_source", "created_at", "expires_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LinkAddressInline(admin.TabularInline):
    model = LinkAddress
    extra = 0
    can_delete = False
    readonly_fields = ["address", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentLink)
class PaymentLinkAdmin(admin.ModelAdmin):
    list_display = ["code", "project", "member", "amount", "currency", "status", "status_detail", "created_at", "paid_at"]
    list_filter = ["status", "project", "currency"]
    search_fields = ["code", "member__email", "description"]
    list_select_related = ["project", "member"]
    raw_id_fields = ["member", "created_by"]
    # Status and what was received are derived by links.status.update_link_state only.
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
    inlines = [LinkAddressInline, QuoteInline]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        update_link_state(obj)  # e.g. an admin set cancelled_at or moved the expiry


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["link", "network", "asset", "amount_due", "rate", "created_at", "expires_at"]
    list_filter = ["network", "asset"]
    search_fields = ["link__code"]
    raw_id_fields = ["link", "deposit_address"]


@admin.register(LinkAddress)
class LinkAddressAdmin(admin.ModelAdmin):
    """Which link each deposit address was allocated for (written by checkout only)."""

    list_display = ["address", "link", "created_at"]
    search_fields = ["address__address", "link__code"]
    list_select_related = ["address", "link"]
    readonly_fields = ["address", "link", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Settlements by hand and refunds: audit records, read-only (the link's page makes them).


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
