"""Admin for wallets and deposit addresses: read-only. Keys are set on the Wallets page,
which validates them (and refuses private keys); deposit addresses are allocated by
chain.wallets.address_allocate and must never be renumbered or edited by hand, or a
payment could be credited to the wrong link. Imported by chain/admin.py."""

from __future__ import annotations

from django.contrib import admin

from chain import hd
from chain.models import DepositAddress, Wallet


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Wallet)
class WalletAdmin(_ReadOnly):
    list_display = ["project", "family", "short_key", "script_type", "next_index", "created_at", "retired_at"]
    list_filter = ["family", "script_type", ("retired_at", admin.EmptyFieldListFilter)]
    search_fields = ["project__name", "xpub"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in Wallet._meta.fields]

    @admin.display(description="key")
    def short_key(self, obj: Wallet) -> str:
        return hd.shorten(obj.xpub)


@admin.register(DepositAddress)
class DepositAddressAdmin(_ReadOnly):
    # Which link an address belongs to is links' record: see the Payment links admin.
    list_display = ["address", "family", "index", "project", "purpose", "created_at"]
    list_filter = ["family", "purpose"]
    search_fields = ["address", "project__name"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in DepositAddress._meta.fields]
    ordering = ["-created_at", "-id"]
