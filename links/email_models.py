"""The email outbox (models live here; links/models.py imports them).

Every email payram sends (the payment link to the member, "payment received" and "needs
attention" to the project's owners) is an OutboundEmail row, written in the same
transaction as what caused it and sent after that transaction commits. A failed try is
scheduled again on the row (links.emails.RETRY_SCHEDULE) and the housekeeping sweep
`retry_due_emails` sends what is due, so a restart or a mail server that is down for a
while loses nothing; the link's page lists its emails and resends failed ones."""

from __future__ import annotations

from django.db import models

__all__ = ["EmailKind", "EmailStatus", "OutboundEmail"]


class EmailKind(models.TextChoices):
    LINK_TO_MEMBER = "link_to_member", "Payment link to the member"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    RECEIPT = "receipt", "Receipt to the member"
    REFUND_REQUEST = "refund_request", "Refund request to the member"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for its next try (next_attempt_at)
    SENT = "sent", "Sent"  # the mail server accepted it
    FAILED = "failed", "Failed"  # every scheduled try failed; the merchant can resend it


class OutboundEmail(models.Model):
    """One composed email and what became of it. The text is what was true when it was
    composed; recipients are stored here (never logged). last_error holds the exception
    type and a short message payram wrote itself, never the server's words (they can
    carry a login name or a credential)."""

    link = models.ForeignKey("links.PaymentLink", on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=24, choices=EmailKind.choices)
    recipients = models.JSONField(default=list)
    from_email = models.CharField("from", max_length=254)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="links_email_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for link {self.link_id}: {self.status}"

    @property
    def error_type(self) -> str:
        return self.last_error.split(": ", 1)[0] if self.last_error else ""

    @property
    def error_words(self) -> str:
        return self.last_error.split(": ", 1)[-1] if self.last_error else ""
