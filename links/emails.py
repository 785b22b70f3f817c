"""Email: the payment link to the member, and "payment received" / "needs attention" to
the project's owners. Composed when the thing happens (so the mail says what was true
then), sent by a Celery task with retries after the transaction commits; never blocks a
page. Sending is on when EMAIL_BACKEND is anything but Django's dummy backend."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from links.models import LinkStatus, PaymentLink

logger = logging.getLogger("links.emails")

ATTENTION_WORDS = {
    "underpaid": "Underpaid: less than the amount due arrived",
    "overpaid": "Overpaid: more than the amount due arrived",
    "paid_late": "Paid late: the payment completed after the quote expired (the rate may have moved)",
    "refund_due": "Payment after the link closed: a refund is probably due",
}


class EmailDisabled(Exception):
    """No email backend is configured."""


class LinkNotOpen(Exception):
    """The link is paid, cancelled or expired: there is nothing to ask the member for."""


def email_enabled() -> bool:
    return not getattr(settings, "EMAIL_BACKEND", "").endswith("dummy.EmailBackend")


def _from_address() -> str:
    return getattr(settings, "DEFAULT_FROM_EMAIL", "") or "payram@localhost"


def _compose(*, kind: str, link: PaymentLink, to: list[str], subject: str, template: str, context: dict) -> dict:
    context = {"link": link, "project": link.project, **context}
    return {
        "kind": kind,
        "link": link.code,
        "to": to,
        "from": _from_address(),
        "subject": subject.replace("\n", " ")[:200],
        "text": render_to_string(f"links/email/{template}.txt", context),
        "html": render_to_string(f"links/email/{template}.html", context),
    }


def _queue(message: dict) -> None:
    from links.background import run_after_commit
    from links.tasks import send_email_task

    run_after_commit(send_email_task, message)


def send_composed(message: dict) -> None:
    """Send one composed message now. Failures are logged without addresses or
    credentials and raised, so the task retries."""
    mail = EmailMultiAlternatives(
        subject=message["subject"], body=message["text"], from_email=message["from"], to=message["to"]
    )
    mail.attach_alternative(message["html"], "text/html")
    try:
        mail.send(fail_silently=False)
    except Exception as exc:
        logger.warning("email %s for link %s not sent (%s); will retry", message["kind"], message["link"], type(exc).__name__)
        raise


def _amount_words(link: PaymentLink) -> str:
    from payram.lib.money import format_fiat

    return format_fiat(link.amount, link.currency)


def link_email_to_member(*, link: PaymentLink) -> None:
    """Email the member their payment link (subject, amount, description, a button)."""
    from links.selectors import public_url

    if not email_enabled():
        raise EmailDisabled("Email is not configured on this server (set EMAIL_HOST or EMAIL_BACKEND).")
    if link.status != LinkStatus.PENDING:
        raise LinkNotOpen(f"This link is {link.get_status_display().lower()}: there is nothing left to pay.")
    amount = _amount_words(link)
    message = _compose(
        kind="link_to_member",
        link=link,
        to=[link.member.email],
        subject=f"Payment request from {link.project.name}: {amount}",
        template="link_to_member",
        context={"amount": amount, "url": public_url(link), "member": link.member},
    )
    _queue(message)


def _owner_emails(link: PaymentLink) -> list[str]:
    return sorted({u.email for u in link.project.owners.all() if u.email})


def _merchant_context(link: PaymentLink, state) -> dict:
    from links.events import _amount
    from links.selectors import status_detail_words

    base_url = getattr(settings, "PAYRAM_BASE_URL", "").rstrip("/")
    network = state.received_network or (state.quote.network if state.quote else "")
    asset = state.received_asset or (state.quote.asset if state.quote else "")
    received = _amount(state.amount_received, network, asset)
    due = _amount(state.amount_due, network, asset)
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
    _queue(_compose(
        kind="payment_received", link=link, to=to, template="merchant_payment_received", context=context,
        subject=f"Payment received: {context['amount']} from {link.member.email}",
    ))


def notify_needs_attention(link: PaymentLink, state) -> None:
    to = _owner_emails(link)
    if not to or not email_enabled():
        return
    context = _merchant_context(link, state)
    _queue(_compose(
        kind="needs_attention", link=link, to=to, template="merchant_needs_attention", context=context,
        subject=f"Needs attention: {ATTENTION_WORDS.get(state.detail, state.detail).split(':')[0]}, {context['amount']} from {link.member.email}",
    ))
