"""Admin for what the scanners record: read-mostly. Deposits and scanned blocks are facts
from the chain and are never edited by hand; a cursor's lease can be cleared (the same as
`manage.py resetscan`), and bin/reset-scanning is the way to rewind."""

from __future__ import annotations

from django.contrib import admin, messages

# Registers Wallet and DepositAddress; its read-only base serves the scanner's models too.
from chain import admin_wallets
from chain.models import Cursor, Deposit, ScannedBlock

ReadOnlyAdmin = admin_wallets._ReadOnly


@admin.register(Cursor)
class CursorAdmin(ReadOnlyAdmin):
    list_display = [
        "network",
        "height",
        "node_head",
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "lock_owner",
        "locked_until",
    ]
    readonly_fields = [f.name for f in Cursor._meta.fields]
    actions = ["clear_scan_lock"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # only for the action below; every field is read-only

    @admin.action(description="Clear the scan lock (a crashed worker's lease)")
    def clear_scan_lock(self, request, queryset) -> None:
        cleared = queryset.update(lock_owner="", locked_until=None)
        self.message_user(request, f"Cleared {cleared} scan lock(s).", messages.SUCCESS)


@admin.register(ScannedBlock)
class ScannedBlockAdmin(ReadOnlyAdmin):
    list_display = ["network", "height", "block_hash", "parent_hash"]
    list_filter = ["network"]
    search_fields = ["block_hash"]
    ordering = ["network", "-height"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = [
        "network",
        "asset",
        "value",
        "address",
        "tx_hash",
        "index",
        "block_height",
        "confirmations",
        "orphaned",
        "first_seen_at",
    ]
    list_filter = ["network", "asset", "orphaned"]
    search_fields = ["tx_hash", "address__address", "block_hash"]
    list_select_related = ["address"]
    readonly_fields = [f.name for f in Deposit._meta.fields]
