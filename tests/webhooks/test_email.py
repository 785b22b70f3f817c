"""Email in Django's test outbox: the payment link to the member, "payment received" and
"needs attention" to the project's owners; a failing mail server never breaks a page.
The outbox rows behind them (retries, the sweep, resend) are tests/links/test_email_outbox.py."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from links import services
from links.checkout import quote_create
from tests.links.pay_support import deposit, set_confirmations

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    calls = 0

    def send_messages(self, messages):
        RefusingBackend.calls += 1
        raise ConnectionRefusedError("smtp.example.com:587 refused (user shop, password hunter2)")


def _link(shop, member, committed, **kw):
    with committed():
        return services.link_create(project=shop, member=member, amount=Decimal("25.00"), description="Order #1", **kw)


def test_email_the_link_to_the_member(merchant_client, shop, member, mailoutbox, committed):
    link = _link(shop, member, committed)
    with committed():
        response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]))
    assert response.status_code == 302 and response["Location"] == reverse("links:detail", args=[link.code])
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.com"]
    assert mail.subject == "Payment request from Corner Shop: $25.00"
    url = f"https://pay.example.com/pay/{link.code}/"
    assert "$25.00" in mail.body and "Order #1" in mail.body and url in mail.body
    html, mimetype = mail.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{url}"' in html and "Pay $25.00" in html and "Order #1" in html


def test_email_link_goes_back_to_a_safe_next_only(merchant_client, shop, member, mailoutbox, committed):
    link = _link(shop, member, committed)
    response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]), {"next": "/payments/"})
    assert response["Location"] == "/payments/"
    response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("links:detail", args=[link.code])


def test_a_closed_link_is_not_emailed(merchant_client, shop, member, mailoutbox, committed):
    link = _link(shop, member, committed)
    services.link_cancel(link=link)
    with committed():
        response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]), follow=True)
    assert mailoutbox == []
    assert "nothing left to pay" in response.content.decode()


def test_merchant_hears_payment_received(shop, member, mailoutbox, committed):
    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    with committed():
        dep = deposit(quote.deposit_address, 25_000_000, confirmations=0)
    assert mailoutbox == []  # seen, not yet confirmed
    with committed():
        set_confirmations(dep, 3)
    [mail] = [m for m in mailoutbox if not m.subject.startswith("Receipt:")]
    [receipt] = [m for m in mailoutbox if m.subject.startswith("Receipt:")]
    assert receipt.to == ["alice@example.com"]  # and the member gets their receipt
    assert mail.to == ["merchant@example.com"]
    assert mail.subject == "Payment received: $25.00 from alice@example.com"
    assert "25 USDC" in mail.body and link.code in mail.body
    assert f"https://pay.example.com/payments/{link.code}/" in mail.body
    assert "25 USDC" in mail.alternatives[0][0]


@pytest.mark.parametrize(
    ("value", "seen_late", "words"),
    [
        (10_000_000, False, "Underpaid"),
        (30_000_000, False, "Overpaid"),
        (25_000_000, True, "Paid late"),
    ],
)
def test_merchant_hears_what_needs_attention(shop, member, mailoutbox, committed, value, seen_late, words):
    from datetime import timedelta

    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    seen_at = quote.expires_at + timedelta(minutes=5) if seen_late else None
    with committed():
        deposit(quote.deposit_address, value, confirmations=3, seen_at=seen_at)
    [mail] = [m for m in mailoutbox if not m.subject.startswith("Receipt:")]  # (a paid link also sends the member a receipt)
    assert mail.subject.startswith(f"Needs attention: {words}")
    assert words in mail.body and "alice@example.com" in mail.body
    assert words in mail.alternatives[0][0]


def test_merchant_hears_about_money_after_cancel(shop, member, mailoutbox, committed):
    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    services.link_cancel(link=link)
    with committed():
        deposit(quote.deposit_address, 25_000_000, confirmations=3)
    assert [m.subject for m in mailoutbox] == ["Needs attention: Payment after the link closed, $25.00 from alice@example.com"]
    assert "refund is probably due" in mailoutbox[0].body


def test_a_refusing_mail_server_is_tried_once_queued_for_retry_logged_without_secrets_and_never_breaks_the_page(
    merchant_client, shop, member, settings, committed, caplog
):
    from links.notifications.models import EmailStatus, OutboundEmail

    settings.EMAIL_BACKEND = "tests.webhooks.test_email.RefusingBackend"
    RefusingBackend.calls = 0
    link = _link(shop, member, committed)
    with caplog.at_level(logging.DEBUG), committed():
        response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]))
    assert response.status_code == 302
    assert RefusingBackend.calls == 1  # tried once right away; the retries are the sweep's (tests/links/test_email_outbox.py)
    email = OutboundEmail.objects.get(link=link)
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert email.last_error == "ConnectionRefusedError: the mail server refused the connection"
    assert (
        f"email {email.pk} (link_to_member) for link {link.code}: try 1 of 6 not sent (ConnectionRefusedError); next try"
        in caplog.text
    )
    assert "hunter2" not in caplog.text and "alice@example.com" not in caplog.text


def test_no_email_backend_says_so(merchant_client, shop, member, settings, committed):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    link = _link(shop, member, committed)
    response = merchant_client.post(reverse("webhooks:email_link", args=[link.code]), follow=True)
    assert "Email is not configured" in response.content.decode()


@pytest.mark.django_db
def test_the_link_page_offers_to_email_the_member_only_when_email_is_on(merchant_client, project, member, settings, mailoutbox):
    from links.models import PaymentLink

    link = PaymentLink.objects.create(project=project, member=member, amount="7.00", description="Tea")
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    assert "Email this link to" not in merchant_client.get(f"/payments/{link.code}/").content.decode()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert f"Email this link to {member.email}" in page
