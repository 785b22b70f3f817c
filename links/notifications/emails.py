"""Email: the payment link to the member, and "payment received" / "needs attention" to
the project's owners. Composed when the thing happens (so the mail says what was true
then) into an OutboundEmail row written in the caller's transaction, tried once right
after that transaction commits, and on failure tried again on RETRY_SCHEDULE by the
housekeeping sweep `retry_due_emails` (beat, or `manage.py scanloop`): durable across
restarts, never blocks a page, visible and resendable on the link's page. Sending is on
when EMAIL_BACKEND is anything but Django's dummy backend.

OutboundEmail rows are an outbox (payram.lib.outbox, the same mechanism as the webhooks'):
each try claims its row first and reserves it for CLAIM_LEASE, so the after-commit try
and any number of sweeps never send the same email at the same time; a process that
dies mid-send leaves a lease that runs out, and the sweep sends it again (at least once).
Logs name the email's id, kind and link, never its recipients or the server's words."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from links.checkout_language import customer_language
from links.models import LinkStatus, PaymentLink
from links.notifications.models import EmailKind, EmailStatus, OutboundEmail
from links.receipts import receipt_for, receipt_url
from links.selectors import coin_amount, public_url, status_detail_words
from links.status import DETAIL_LABELS, Detail
from payram.lib.background import run_after_commit
from payram.lib.mail import email_enabled
from payram.lib.money import format_fiat, format_fiat_for
from payram.lib.outbox import Outbox

logger = logging.getLogger("links.emails")

ATTENTION_WORDS = {  # the detail's label (links.status.DETAIL_LABELS), then what it means
    Detail.UNDERPAID: f"{DETAIL_LABELS[Detail.UNDERPAID]}: less than the amount due arrived",
    Detail.OVERPAID: f"{DETAIL_LABELS[Detail.OVERPAID]}: more than the amount due arrived",
    Detail.PAID_LATE: f"{DETAIL_LABELS[Detail.PAID_LATE]}: the payment completed after the quote expired (the rate may have moved)",
    Detail.REFUND_DUE: "Payment after the link closed: a refund is probably due",
}

# Wait after the n-th failed try: 6 tries over about 8.6 hours, then the email is failed.
RETRY_SCHEDULE = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# How long a claimed try is reserved: well over EMAIL_TIMEOUT for a connect, login and send.
CLAIM_LEASE = timedelta(minutes=5)
SWEEP_BATCH = 200
# A sweep stops starting new tries after this long, so a mail server that times out on
# every try cannot keep one pass of housekeeping (the other jobs wait behind it) busy for
# long; the rest wait for the next pass.
SWEEP_SECONDS = 30.0

OUTBOX = Outbox(
    model=OutboundEmail,
    schedule=RETRY_SCHEDULE,
    lease=CLAIM_LEASE,
    logger=logger,
    noun="email",
    state_field="status",
    waiting=EmailStatus.QUEUED,
    succeeded=EmailStatus.SENT,
    failed=EmailStatus.FAILED,
    batch=SWEEP_BATCH,
    sweep_seconds=SWEEP_SECONDS,
)


class EmailDisabled(Exception):
    """No email backend is configured."""


class LinkNotOpen(Exception):
    """The link is paid, cancelled or expired: there is nothing to ask the member for."""


class NotResendable(Exception):
    """Only a failed email can be resent (a queued one is still being tried)."""


def _from_address() -> str:
    return getattr(settings, "DEFAULT_FROM_EMAIL", "") or "payram@localhost"


def _queue(*, kind: str, link: PaymentLink, to: list[str], subject: str, template: str, context: dict) -> OutboundEmail:
    """Compose the email into a queued row (in the caller's transaction) and try it once
    that transaction commits. If the transaction rolls back, there is no email either."""
    context = {"link": link, "project": link.project, **context}
    email = OutboundEmail.objects.create(
        link=link,
        kind=kind,
        recipients=list(to),
        from_email=_from_address(),
        subject=subject.replace("\n", " ").replace("\r", " ")[:200],
        text=render_to_string(f"links/email/{template}.txt", context),
        html=render_to_string(f"links/email/{template}.html", context),
        next_attempt_at=timezone.now(),
    )
    _send_after_commit(email.pk)
    return email


def _send_after_commit(email_id: int) -> None:
    run_after_commit(send_email_task, email_id)


# Sending


def safe_error(exc: BaseException) -> str:
    """The exception's type and payram's own words for it (with the SMTP reply code when
    there is one). Never str(exc): a server's reply or a backend's message can carry the
    login name, the password or the recipients."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, EmailDisabled):
        words = "email is switched off on this server (EMAIL_BACKEND is the dummy backend)"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        words = "the mail server refused the login (check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD)"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(v[0]) for v in (exc.recipients or {}).values() if isinstance(v, tuple) and v})
        words = "the mail server refused the recipients" + (f" ({', '.join(codes)})" if codes else "")
        code = None
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        words = "the mail server refused the sender address (DEFAULT_FROM_EMAIL)"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        words = "the mail server closed the connection"
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        words = "the mail server does not support what was asked (TLS or login)"
    elif isinstance(exc, smtplib.SMTPResponseException):
        words = "the mail server refused the message"
    elif isinstance(exc, smtplib.SMTPException):
        words = "the mail server conversation failed"
    elif isinstance(exc, ssl.SSLError):
        words = "the TLS handshake with the mail server failed"
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        words = "the mail server did not answer in time"
    elif isinstance(exc, ConnectionRefusedError):
        words = "the mail server refused the connection"
    elif isinstance(exc, socket.gaierror):
        words = "the mail server's host name does not resolve"
    elif isinstance(exc, OSError):
        words = "a network error reached the mail server"
    else:
        words = "unexpected error while sending"
    if code:
        words += f" ({code})"
    return f"{type(exc).__name__}: {words}"[:300]


def _deliver(email: OutboundEmail) -> None:
    if not email_enabled():
        raise EmailDisabled()
    mail = EmailMultiAlternatives(subject=email.subject, body=email.text, from_email=email.from_email, to=email.recipients)
    if email.html:
        mail.attach_alternative(email.html, "text/html")
    mail.send(fail_silently=False)


def send_email(email_id: int, *, now: datetime | None = None) -> bool | None:
    """Make the email's due try, if it is due and nobody else is making it. True: sent;
    False: failed (the next try is scheduled on the row, or it is failed for good);
    None: not tried. Never raises for a mail server problem."""
    now = now or timezone.now()
    email = OUTBOX.claim(email_id, now)
    if email is None:
        return None
    error = ""
    try:
        _deliver(email)
    except Exception as exc:  # any failure is the row's to record and retry
        error = safe_error(exc)
    outcome = {"sent_at": now} if not error else {"last_error": error}
    if not OUTBOX.record(email, ok=not error, at=now, last_attempt_at=now, **outcome):
        logger.warning(
            "email %s (%s) for link %s: its claim ran out before the outcome was recorded",
            email.pk,
            email.kind,
            _link_code(email),
        )
    if error:
        logger.warning(
            "email %s (%s) for link %s: try %s of %s not sent (%s)%s",
            email.pk,
            email.kind,
            _link_code(email),
            email.attempts,
            MAX_ATTEMPTS,
            error.split(":", 1)[0],
            f"; next try {email.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}" if email.next_attempt_at else "; giving up",
        )
    return not error


def _link_code(email: OutboundEmail) -> str:
    return PaymentLink.objects.filter(pk=email.link_id).values_list("code", flat=True).first() or str(email.link_id)


def retry_due_emails(*, now: datetime | None = None) -> int:
    """Send every queued email whose try is due (retries, and first tries whose
    after-commit send was lost to a restart), oldest first, as many as one bounded pass
    of the outbox allows. Returns how many were sent. Each try reads the clock afresh
    (unless `now` is given), so a long sweep's claims stay valid."""
    return OUTBOX.sweep(lambda email_id: send_email(email_id, now=now), now=now)


def resend(email: OutboundEmail) -> OutboundEmail:
    """Queue a failed email again (a fresh retry schedule) and try it after commit."""
    if not email_enabled():
        raise EmailDisabled("Email is not configured on this server (set EMAIL_HOST or EMAIL_BACKEND).")
    now = timezone.now()
    requeued = OutboundEmail.objects.filter(pk=email.pk, status=EmailStatus.FAILED).update(
        status=EmailStatus.QUEUED, attempts=0, next_attempt_at=now
    )
    if not requeued:
        raise NotResendable("Only a failed email can be resent; this one is queued or already sent.")
    _send_after_commit(email.pk)
    email.refresh_from_db()
    return email


def emails_for_link(link: PaymentLink, *, limit: int = 50) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(link=link).order_by("-created_at", "-id")[:limit])


# What is sent


def _amount_words(link: PaymentLink) -> str:
    return format_fiat(link.amount, link.currency)


def link_email_to_member(*, link: PaymentLink) -> None:
    """Email the member their payment link (subject, amount, description, a button)."""

    if not email_enabled():
        raise EmailDisabled("Email is not configured on this server (set EMAIL_HOST or EMAIL_BACKEND).")
    if link.status != LinkStatus.PENDING:
        raise LinkNotOpen(f"This link is {link.get_status_display().lower()}: there is nothing left to pay.")
    # In the customer's language (links.checkout_language), amount and dates as they write them.
    with translation.override(customer_language(link)):
        amount = format_fiat_for(link.amount, link.currency, translation.get_language())
        _queue(
            kind=EmailKind.LINK_TO_MEMBER,
            link=link,
            to=[link.member.email],
            subject=gettext("Payment request from %(merchant)s: %(amount)s") % {"merchant": link.project.name, "amount": amount},
            template="link_to_member",
            context={"amount": amount, "url": public_url(link), "member": link.member},
        )


def send_receipt_to_member(link: PaymentLink) -> None:
    """The member's receipt, when a link becomes Successful and email is set up."""

    if not email_enabled():
        return
    with translation.override(customer_language(link)):  # the language they paid in
        receipt = receipt_for(link)
        if receipt is None:
            return
        _queue(
            kind=EmailKind.RECEIPT,
            link=link,
            to=[link.member.email],
            subject=gettext("Receipt: %(amount)s to %(merchant)s")
            % {"amount": receipt.amount_asked, "merchant": link.project.name},
            template="member_receipt",
            context={"receipt": receipt, "url": receipt_url(link), "member": link.member},
        )


def queue_team_invitation(*, invitation, url: str) -> OutboundEmail:
    """The invitation to a project's team, to the invited address (an outbox row with no
    link). Its text holds the accept link: the invitation is single use and expires."""
    project = invitation.project
    context = {"project": project, "invitation": invitation, "url": url, "inviter": invitation.invited_by}
    email = OutboundEmail.objects.create(
        link=None,
        kind=EmailKind.TEAM_INVITATION,
        recipients=[invitation.email],
        from_email=_from_address(),
        subject=f"You are invited to {project.name} on payram".replace("\n", " ").replace("\r", " ")[:200],
        text=render_to_string("links/email/team_invitation.txt", context),
        html=render_to_string("links/email/team_invitation.html", context),
        next_attempt_at=timezone.now(),
    )
    _send_after_commit(email.pk)
    return email


def _owner_emails(link: PaymentLink) -> list[str]:
    return sorted({u.email for u in link.project.owners.all() if u.email})


def _merchant_context(link: PaymentLink, state) -> dict:
    base_url = getattr(settings, "PAYRAM_BASE_URL", "").rstrip("/")
    network = state.received_network or (state.quote.network if state.quote else "")
    asset = state.received_asset or (state.quote.asset if state.quote else "")
    received = coin_amount(state.amount_received, network, asset)
    due = coin_amount(state.amount_due, network, asset)
    return {
        "amount": _amount_words(link),
        "received": f"{received} {asset}" if received else "",
        "due": f"{due} {asset}" if due else "",
        "state": state,
        "detail_words": ATTENTION_WORDS.get(state.detail, status_detail_words(link) or state.detail),
        "dashboard_url": f"{base_url}{reverse('links:detail', args=[link.code])}" if base_url else "",
    }


def notify_payment_received(link: PaymentLink, state) -> None:
    to = _owner_emails(link)
    if not to or not email_enabled():
        return
    context = _merchant_context(link, state)
    _queue(
        kind=EmailKind.PAYMENT_RECEIVED,
        link=link,
        to=to,
        template="merchant_payment_received",
        context=context,
        subject=f"Payment received: {context['amount']} from {link.member.email}",
    )


def notify_needs_attention(link: PaymentLink, state) -> None:
    to = _owner_emails(link)
    if not to or not email_enabled():
        return
    context = _merchant_context(link, state)
    _queue(
        kind=EmailKind.NEEDS_ATTENTION,
        link=link,
        to=to,
        template="merchant_needs_attention",
        context=context,
        subject=f"Needs attention: {ATTENTION_WORDS.get(state.detail, state.detail).split(':')[0]}, {context['amount']} from {link.member.email}",
    )


# The first try, right after the transaction that wrote the row committed.
@shared_task(name="links.tasks.send_email_task", ignore_result=True, acks_late=True)
def send_email_task(email_id: int | dict) -> bool | None:
    """First try of one queued email (an OutboundEmail id), right after the transaction
    that wrote it committed. A failure is scheduled on the row and retried by
    retry_due_emails, never by Celery: the task itself does not retry."""
    if isinstance(email_id, dict):  # queued by a payram from before the email outbox
        email_id = _outbox_row_for_composed(email_id)
        if email_id is None:
            return None
    try:
        return send_email(email_id)
    except Exception:  # the sweep retries it: the row is still queued
        logger.exception("email %s failed unexpectedly", email_id)
        return None


def _outbox_row_for_composed(message: dict) -> int | None:
    """A message composed into a dict (before the outbox) becomes an outbox row."""
    link = PaymentLink.objects.filter(code=message.get("link")).first()
    if link is None:
        logger.error("email %s for a link that no longer exists dropped", message.get("kind"))
        return None
    return OutboundEmail.objects.create(
        link=link,
        kind=message["kind"],
        recipients=message["to"],
        from_email=message["from"],
        subject=message["subject"][:200],
        text=message["text"],
        html=message.get("html", ""),
        next_attempt_at=timezone.now(),
    ).pk
