"""What payram tells the outside world: webhook endpoints, events and deliveries, and
the email outbox. The tables keep the names they had when these lived in the links app.

Webhooks:

An event happens once per project (WebhookEvent, public id `evt_...` so receivers can
drop duplicates). Each active endpoint subscribed to its type gets a WebhookDelivery,
retried on a schedule until it succeeds or gives up; every HTTP try is a WebhookAttempt."""

from __future__ import annotations

import secrets

from django.db import models

__all__ = [
    "EVENT_TYPES",
    "TEST_EVENT_TYPE",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookDelivery",
    "WebhookAttempt",
    "DeliveryState",
    "new_event_id",
    "new_endpoint_code",
    "new_signing_secret",
    "EmailKind",
    "EmailStatus",
    "OutboundEmail",
]

# type -> what the merchant reads in the dashboard
EVENT_TYPES: dict[str, str] = {
    "link.created": "A payment link was created",
    "payment.detected": "A payment was first seen (mempool or block)",
    "payment.confirmed": "The link is paid (confirmed)",
    "payment.underpaid": "Less than the amount due arrived",
    "payment.overpaid": "More than the amount due arrived",
    "payment.late": "Money arrived after the deadline (paid late, or after the link closed)",
    "link.cancelled": "The merchant cancelled the link",
    "link.expired": "The link expired",
    "link.settled": "The merchant marked the link as paid by hand",
    "refund.requested": "The merchant asked for a refund; the customer is asked for an address",
    "refund.address_given": "The customer gave the refund address",
    "refund.sent": "A transfer of the refund amount reached the customer's refund address",
}
TEST_EVENT_TYPE = "webhook.test"


def new_event_id() -> str:
    return "evt_" + secrets.token_urlsafe(18)


def new_endpoint_code() -> str:
    while True:
        code = secrets.token_urlsafe(12)
        if code[0].isalnum():
            return code


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where a project's events are POSTed. The signing secret is a shared secret (the
    receiver needs the same bytes to check the HMAC), so it is stored as is; it is shown
    once at creation or rotation and never logged or shown again."""

    code = models.CharField(max_length=24, unique=True, default=new_endpoint_code, editable=False)
    project = models.ForeignKey("members.Project", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=500)
    events = models.JSONField(default=list)  # event types sent to this endpoint
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "links_webhookendpoint"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class WebhookEvent(models.Model):
    """Something that happened to a project's link, with the JSON sent for it. Amounts in
    the payload are strings, never floats."""

    id = models.CharField(max_length=40, primary_key=True, default=new_event_id, editable=False)
    project = models.ForeignKey("members.Project", on_delete=models.CASCADE, related_name="webhook_events")
    link = models.ForeignKey("links.PaymentLink", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "links_webhookevent"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its next attempt (next_attempt_at)
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"  # gave up after the last scheduled attempt


class WebhookDelivery(models.Model):
    """One event to one endpoint, until it succeeds or the retry schedule runs out.
    A redelivery from the dashboard is a new row (manual=True)."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    manual = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "links_webhookdelivery"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} to endpoint {self.endpoint_id}: {self.state}"


class WebhookAttempt(models.Model):
    """One HTTP POST: when, what came back, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)  # first 500 characters of the body
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "links_webhookattempt"
        ordering = ["-attempted_at", "-id"]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# The customer and merchant email outbox.
class EmailKind(models.TextChoices):
    LINK_TO_MEMBER = "link_to_member", "Payment link to the member"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    RECEIPT = "receipt", "Receipt to the member"
    REFUND_REQUEST = "refund_request", "Refund request to the member"
    TEAM_INVITATION = "team_invitation", "Invitation to a project's team"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for its next try (next_attempt_at)
    SENT = "sent", "Sent"  # the mail server accepted it
    FAILED = "failed", "Failed"  # every scheduled try failed; the merchant can resend it


class OutboundEmail(models.Model):
    """One composed email and what became of it. The text is what was true when it was
    composed; recipients are stored here (never logged). last_error holds the exception
    type and a short message payram wrote itself, never the server's words (they can
    carry a login name or a credential)."""

    # Empty for an email about no link (a team invitation).
    link = models.ForeignKey("links.PaymentLink", null=True, blank=True, on_delete=models.CASCADE, related_name="emails")
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
        db_table = "links_outboundemail"
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
