from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from payram.lib.fields import BaseUnitsField


def new_public_code() -> str:
    """At least 128 random bits, URL-safe: what /pay/<code> shows instead of a database id.
    Never starts with '-' or '_', so it survives spreadsheets (formula guard) and selection."""
    while True:
        code = secrets.token_urlsafe(16)  # 22 characters, 132 bits
        if code[0].isalnum():
            return code  # first character from 62 choices: still > 128 bits


class LinkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESSFUL = "successful", "Successful"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class PaymentLink(models.Model):
    """What the merchant asks for. `status`, `status_detail`, `amount_received`,
    `received_*` and `paid_at` are derived by links.status.update_link_state from the
    link's quotes and deposits and are written nowhere else."""

    code = models.CharField(max_length=32, unique=True, default=new_public_code, editable=False)
    project = models.ForeignKey("members.Project", on_delete=models.PROTECT, related_name="links")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="links")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    description = models.TextField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A link made through the REST API: the project's key that made it (created_by is then empty).
    created_by_api_key = models.ForeignKey(
        "members.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="links_created"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=LinkStatus.choices, default=LinkStatus.PENDING, db_index=True)
    status_detail = models.CharField(max_length=32, blank=True, default="awaiting_payment")
    amount_received = BaseUnitsField(null=True, blank=True)  # base units of received_asset
    received_network = models.CharField(max_length=40, blank=True)
    received_asset = models.CharField(max_length=16, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    amount_short = BaseUnitsField(null=True, blank=True)  # detail paid_short: how far short, base units
    status_updated_at = models.DateTimeField(null=True, blank=True)
    # The link's deposit addresses (at most one per chain family), through LinkAddress: an
    # address belongs to one link at most. From chain's side, `address__link=...` filters by it.
    deposit_addresses = models.ManyToManyField(
        "chain.DepositAddress", through="LinkAddress", related_name="payment_links", related_query_name="link", blank=True
    )
    # The language the customer read the pay page in (links.checkout_language), for their emails; '' = not known.
    customer_language = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.member_id} ({self.code})"


class LinkAddress(models.Model):
    """Which link a deposit address was allocated for. links owns this: chain knows addresses
    and deposits, never links. One row per address (refund watch rows have none)."""

    link = models.ForeignKey(PaymentLink, on_delete=models.PROTECT, related_name="address_rows")
    address = models.OneToOneField("chain.DepositAddress", on_delete=models.PROTECT, related_name="link_address")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.address_id} for link {self.link_id}"


class Quote(models.Model):
    """The customer's pick of an asset for a link: where to pay and exactly how much.
    The newest quote of a link is its current one."""

    link = models.ForeignKey(PaymentLink, on_delete=models.CASCADE, related_name="quotes")
    network = models.CharField(max_length=40)  # catalogue slug, e.g. "base"
    asset = models.CharField(max_length=16)  # symbol on that network, e.g. "USDC"
    deposit_address = models.ForeignKey("chain.DepositAddress", on_delete=models.PROTECT, related_name="quotes")
    amount_due = BaseUnitsField()  # base units
    rate = models.DecimalField(max_digits=30, decimal_places=12)  # link currency per whole coin
    rate_source = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.amount_due} {self.asset}@{self.network} for link {self.link_id}"


from links.resolution_models import *  # noqa: E402,F401,F403  (settlements and refunds, same app)
