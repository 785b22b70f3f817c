"""How a merchant resolves a link the chain alone cannot: a settlement by hand ("Mark as
paid") and refunds (models live here; links/models.py imports them). Neither ever changes
a recorded deposit."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from payram.lib.fields import BaseUnitsField

__all__ = ["LinkSettlement", "Refund", "RefundState", "new_refund_code"]


class LinkSettlement(models.Model):
    """The merchant marked the link as paid by hand: the audit record (who, when, why, and
    the state it was in). links.status derives Successful / settled from its existence."""

    link = models.OneToOneField("links.PaymentLink", on_delete=models.PROTECT, related_name="settlement")
    settled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    settled_by_name = models.CharField(max_length=150)  # kept if the account goes: "ana", "API key Shop checkout"
    note = models.TextField(max_length=500)
    status_before = models.CharField(max_length=16)
    detail_before = models.CharField(max_length=32)
    amount_received_before = BaseUnitsField(null=True, blank=True)
    received_network_before = models.CharField(max_length=40, blank=True)
    received_asset_before = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"link {self.link_id} settled by {self.settled_by_name}"


def new_refund_code() -> str:
    """As unguessable as a pay link's code: 128+ random bits, URL-safe."""
    while True:
        code = secrets.token_urlsafe(16)
        if code[0].isalnum():
            return code


class RefundState(models.TextChoices):
    REQUESTED = "requested", "Requested"  # waiting for the customer's refund address
    ADDRESS_GIVEN = "address_given", "Address given"  # the merchant can send it
    SENT = "sent", "Sent"  # a transfer of at least the amount reached the address


class Refund(models.Model):
    """Money the merchant returns to the customer from their own wallet: payram asks the
    customer for an address, shows the merchant a payment request and watches the address
    for the transfer. It never holds or asks for a private key."""

    code = models.CharField(max_length=32, unique=True, default=new_refund_code, editable=False)
    link = models.ForeignKey("links.PaymentLink", on_delete=models.PROTECT, related_name="refunds")
    network = models.CharField(max_length=40)
    asset = models.CharField(max_length=16)
    amount = BaseUnitsField()  # base units of asset
    reason = models.CharField(max_length=32)  # refund_due, overpaid, underpaid (the link's detail when asked)
    state = models.CharField(max_length=16, choices=RefundState.choices, default=RefundState.REQUESTED, db_index=True)
    address = models.CharField(max_length=100, blank=True)
    # The watched row for the address (chain.DepositAddress, purpose "refund"), so the
    # scanner records transfers to it without a change of its own.
    watch = models.ForeignKey("chain.DepositAddress", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    requested_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    address_given_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_tx = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"refund {self.code} of link {self.link_id} ({self.state})"
