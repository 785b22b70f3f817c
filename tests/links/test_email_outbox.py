"""The email outbox on the real database: an email is a row written in the transaction of
what caused it, tried after commit, retried by the housekeeping sweep on its schedule
until sent or failed, shown on the link's page and resent from there by its owner. Mail
server failures are a Django email backend raising smtplib's exceptions."""

from __future__ import annotations

import dataclasses
import logging
import os
import smtplib
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from links import services
from links.checkout import quote_create
from links.models import LinkStatus, PaymentLink
from links.notifications import emails
from links.notifications.models import EmailKind, EmailStatus, OutboundEmail
from payram import jobs
from tests.links.pay_support import deposit
from tests.webhooks.conftest import committed, shop, webhook_settings  # noqa: F401  (fixtures)

SECRET = "hunter2-smtp-password"
SMTP_USER = "shop-mailer"


class FlakyBackend(LocmemBackend):
    """Raises the queued errors in turn (or `always`, for ever), then delivers to
    Django's test outbox. Error messages carry the login, the password and an address,
    as real servers' replies and backends' messages can."""

    errors: list[BaseException] = []
    always: BaseException | None = None
    calls = 0

    def send_messages(self, messages):
        FlakyBackend.calls += 1
        if FlakyBackend.always is not None:
            raise FlakyBackend.always
        if FlakyBackend.errors:
            raise FlakyBackend.errors.pop(0)
        return super().send_messages(messages)


def auth_error() -> smtplib.SMTPAuthenticationError:
    return smtplib.SMTPAuthenticationError(535, f"5.7.8 Username {SMTP_USER} and Password {SECRET} not accepted".encode())


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.links.test_email_outbox.FlakyBackend"
    settings.EMAIL_HOST_USER = SMTP_USER
    settings.EMAIL_HOST_PASSWORD = SECRET
    FlakyBackend.errors, FlakyBackend.always, FlakyBackend.calls = [], None, 0
    yield FlakyBackend
    FlakyBackend.errors, FlakyBackend.always = [], None


def _link(shop, member, committed):  # noqa: F811
    with committed():
        return services.link_create(project=shop, member=member, amount=Decimal("25.00"), description="Order #1")


def _email_link(link, committed):  # noqa: F811
    with committed():
        emails.link_email_to_member(link=link)
    return OutboundEmail.objects.get(link=link, kind=EmailKind.LINK_TO_MEMBER)


class Rollback(Exception):
    pass


# Written in the caller's transaction


@pytest.mark.django_db
def test_the_email_row_is_written_in_the_status_change_transaction(shop, member, committed, mailoutbox):  # noqa: F811
    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    with pytest.raises(Rollback), transaction.atomic():
        deposit(quote.deposit_address, 25_000_000, confirmations=3)
        assert PaymentLink.objects.get(pk=link.pk).status == LinkStatus.SUCCESSFUL
        assert OutboundEmail.objects.filter(link=link, kind=EmailKind.PAYMENT_RECEIVED, status=EmailStatus.QUEUED).count() == 1
        raise Rollback
    assert PaymentLink.objects.get(pk=link.pk).status == LinkStatus.PENDING
    assert not OutboundEmail.objects.filter(link=link).exists()  # rolled back with the status change
    assert mailoutbox == []  # and never sent

    with committed():
        deposit(quote.deposit_address, 25_000_000, confirmations=3)
    email = OutboundEmail.objects.get(link=link, kind=EmailKind.PAYMENT_RECEIVED)
    assert (email.kind, email.status, email.attempts) == (EmailKind.PAYMENT_RECEIVED, EmailStatus.SENT, 1)
    assert email.recipients == ["merchant@example.com"] and email.sent_at is not None
    receipt = OutboundEmail.objects.get(link=link, kind=EmailKind.RECEIPT)  # and the member's receipt
    assert (
        sorted(m.subject for m in mailoutbox)
        == sorted([email.subject, receipt.subject])
        == [
            "Payment received: $25.00 from alice@example.com",
            "Receipt: $25.00 to Corner Shop",
        ]
    )


@pytest.mark.django_db
def test_an_email_asked_for_in_a_transaction_that_rolls_back_is_neither_stored_nor_sent(shop, member, committed, mailoutbox):  # noqa: F811
    link = _link(shop, member, committed)
    with pytest.raises(Rollback), committed(), transaction.atomic():
        emails.link_email_to_member(link=link)
        raise Rollback
    assert not OutboundEmail.objects.exists() and mailoutbox == []


# Retries on the row's schedule


@pytest.mark.django_db
def test_a_refused_send_is_retried_by_the_sweep_when_due_and_not_before(shop, member, committed, flaky, mailoutbox):  # noqa: F811
    flaky.errors = [smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {SMTP_USER}")]
    link = _link(shop, member, committed)
    email = _email_link(link, committed)
    assert (email.status, email.attempts, flaky.calls) == (EmailStatus.QUEUED, 1, 1)
    assert email.last_error == "SMTPServerDisconnected: the mail server closed the connection"
    assert email.next_attempt_at == email.last_attempt_at + timedelta(minutes=1)
    assert mailoutbox == []

    assert emails.retry_due_emails(now=email.last_attempt_at + timedelta(seconds=59)) == 0
    assert flaky.calls == 1  # not due: not tried

    assert emails.retry_due_emails(now=email.last_attempt_at + timedelta(seconds=61)) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.next_attempt_at) == (EmailStatus.SENT, 2, None)
    assert email.sent_at == email.last_attempt_at
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert emails.retry_due_emails(now=timezone.now() + timedelta(days=1)) == 0  # sent once, never again
    assert flaky.calls == 2 and len(mailoutbox) == 1


def test_the_retry_schedule_spans_about_nine_hours():
    assert emails.MAX_ATTEMPTS == 6
    assert timedelta(hours=8) < sum(emails.RETRY_SCHEDULE, timedelta()) < timedelta(hours=9)
    assert [emails.OUTBOX.next_retry_delay(n) for n in (0, 1, 5, 6)] == [None, timedelta(minutes=1), timedelta(hours=6), None]


@pytest.mark.django_db
def test_after_the_last_try_the_email_is_failed_and_the_link_page_shows_it_with_resend(
    shop,
    member,
    committed,
    flaky,
    merchant_client,
    mailoutbox,  # noqa: F811
):
    link = _link(shop, member, committed)
    sent = _email_link(link, committed)  # the first one goes through
    flaky.always = auth_error()
    failing = _email_link_again(link, committed, exclude=sent.pk)
    for delay in emails.RETRY_SCHEDULE:
        failing.refresh_from_db()
        assert failing.status == EmailStatus.QUEUED
        assert failing.next_attempt_at == failing.last_attempt_at + delay
        assert emails.retry_due_emails(now=failing.next_attempt_at) == 0
    failing.refresh_from_db()
    assert (failing.status, failing.attempts, failing.next_attempt_at) == (EmailStatus.FAILED, emails.MAX_ATTEMPTS, None)
    assert (
        failing.last_error
        == "SMTPAuthenticationError: the mail server refused the login (check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD) (535)"
    )
    assert emails.retry_due_emails(now=timezone.now() + timedelta(days=2)) == 0
    assert flaky.calls == 1 + emails.MAX_ATTEMPTS

    page = merchant_client.get(reverse("links:detail", args=[link.code])).content.decode()
    assert 'id="emails"' in page
    sent_row = page[page.index(f'id="email-{sent.pk}"') :]
    sent_row = sent_row[: sent_row.index("</tr>")]
    failed_row = page[page.index(f'id="email-{failing.pk}"') :]
    failed_row = failed_row[: failed_row.index("</tr>")]
    assert "Payment link to the member" in sent_row and "alice@example.com" in sent_row
    assert "Sent" in sent_row and "Resend" not in sent_row
    assert "Failed" in failed_row and ">6<" in failed_row and "Gave up" in failed_row
    assert "The mail server refused the login" in failed_row
    assert reverse("emails:resend", args=[link.code, failing.pk]) in failed_row and "Resend" in failed_row
    assert "csrfmiddlewaretoken" in failed_row
    assert SECRET not in page and SMTP_USER not in page


def _email_link_again(link, committed, *, exclude: int) -> OutboundEmail:  # noqa: F811
    with committed():
        emails.link_email_to_member(link=link)
    return OutboundEmail.objects.exclude(pk=exclude).get(link=link)


def _failed_email(link) -> OutboundEmail:
    now = timezone.now()
    return OutboundEmail.objects.create(
        link=link,
        kind=EmailKind.LINK_TO_MEMBER,
        recipients=[link.member.email],
        from_email="payram@localhost",
        subject="Payment request from Corner Shop: $25.00",
        text="Pay here",
        html="<p>Pay here</p>",
        status=EmailStatus.FAILED,
        attempts=emails.MAX_ATTEMPTS,
        last_attempt_at=now,
        last_error="ConnectionRefusedError: the mail server refused the connection",
    )


# Resend


@pytest.mark.django_db
def test_resend_is_a_post_for_the_owner_only_and_sends_the_failed_email_again(
    shop,
    member,
    committed,
    merchant,
    merchant_client,
    other_merchant,
    password,
    mailoutbox,  # noqa: F811
):
    link = _link(shop, member, committed)
    email = _failed_email(link)
    url = reverse("emails:resend", args=[link.code, email.pk])

    rival = Client()
    rival.force_login(other_merchant)
    assert rival.post(url).status_code == 404
    assert Client().post(url).status_code == 302  # to the sign-in page
    assert merchant_client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(merchant)
    assert strict.post(url).status_code == 403
    # Another link's address for this email: 404 as well.
    other_link = _link(shop, member, committed)
    assert merchant_client.post(reverse("emails:resend", args=[other_link.code, email.pk])).status_code == 404
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.FAILED, emails.MAX_ATTEMPTS) and mailoutbox == []

    with committed():
        response = merchant_client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("links:detail", args=[link.code]) + "#emails"
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)  # a fresh schedule, sent on its first try
    assert [m.subject for m in mailoutbox] == ["Payment request from Corner Shop: $25.00"]
    assert mailoutbox[0].alternatives == [("<p>Pay here</p>", "text/html")]

    with committed():
        page = merchant_client.post(url, follow=True).content.decode()
    assert "Only a failed email can be resent" in page and len(mailoutbox) == 1


@pytest.mark.django_db
def test_resend_while_email_is_switched_off_says_so(shop, member, committed, merchant_client, settings):  # noqa: F811
    link = _link(shop, member, committed)
    email = _failed_email(link)
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    page = merchant_client.post(reverse("emails:resend", args=[link.code, email.pk]), follow=True).content.decode()
    assert "Email is not configured" in page
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED


# Nothing is lost to a restart


@pytest.mark.django_db
def test_an_email_whose_after_commit_send_never_ran_is_sent_by_the_next_sweep(
    shop,
    member,
    committed,
    mailoutbox,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    with django_capture_on_commit_callbacks(execute=False) as lost:  # the process stops right after commit
        deposit(quote.deposit_address, 25_000_000, confirmations=3)
    assert lost and mailoutbox == []
    email = OutboundEmail.objects.get(link=link, kind=EmailKind.PAYMENT_RECEIVED)
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 0)

    jobs.run_housekeeping()  # the restarted process's scan loop (or beat)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)
    assert sorted(m.subject for m in mailoutbox) == [
        "Payment received: $25.00 from alice@example.com",
        "Receipt: $25.00 to Corner Shop",
    ]


@pytest.mark.django_db
def test_a_send_cut_short_by_a_dying_process_is_tried_again_once_its_claim_runs_out(
    shop,
    member,
    committed,
    mailoutbox,
    django_capture_on_commit_callbacks,  # noqa: F811
):
    link = _link(shop, member, committed)
    with django_capture_on_commit_callbacks(execute=False):
        emails.link_email_to_member(link=link)
    email = OutboundEmail.objects.get(link=link)
    now = timezone.now()
    assert emails.OUTBOX.claim(email.pk, now) is not None  # claimed, then the process died mid-send
    assert emails.OUTBOX.claim(email.pk, now) is None  # nobody else takes it meanwhile
    assert emails.retry_due_emails(now=now + emails.CLAIM_LEASE - timedelta(seconds=1)) == 0
    assert emails.retry_due_emails(now=now + emails.CLAIM_LEASE) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and len(mailoutbox) == 1


def test_the_sweep_is_a_housekeeping_job_for_beat_and_the_scan_loop():
    from payram.celery import app

    app.loader.import_default_modules()
    assert jobs.HOUSEKEEPING["retry-due-emails"].task == "links.tasks.retry_due_emails"
    assert app.conf.beat_schedule["retry-due-emails"]["task"] == "links.tasks.retry_due_emails"


# Two sweeps at once


class SlowBackend(LocmemBackend):
    """Takes a while per message, so two sweeps overlap; records what it sent."""

    sent: list[str] = []
    lock = threading.Lock()

    def send_messages(self, messages):
        time.sleep(0.03)
        with SlowBackend.lock:
            SlowBackend.sent.extend(m.subject for m in messages)
        return len(messages)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_due_email_once(project, member, settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's to show (SQLite's test database locks the table)")
    settings.EMAIL_BACKEND = "tests.links.test_email_outbox.SlowBackend"
    SlowBackend.sent = []
    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    due = timezone.now() - timedelta(seconds=1)
    subjects = [f"Email {n}" for n in range(16)]
    OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                link=link,
                kind=EmailKind.LINK_TO_MEMBER,
                recipients=["alice@example.com"],
                from_email="payram@localhost",
                subject=s,
                text=s,
                next_attempt_at=due,
            )
            for s in subjects
        ]
    )
    start = threading.Barrier(2)
    results: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait()
            results.append(emails.retry_due_emails())
        except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(SlowBackend.sent) == sorted(subjects)  # each exactly once
    assert sum(results) == len(subjects)
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {(EmailStatus.SENT, 1)}


@pytest.mark.django_db
def test_a_claimed_email_is_not_claimed_again(project, member):
    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    email = OutboundEmail.objects.create(
        link=link,
        kind=EmailKind.LINK_TO_MEMBER,
        recipients=["a@example.com"],
        from_email="payram@localhost",
        subject="s",
        text="t",
        next_attempt_at=timezone.now(),
    )
    now = timezone.now()
    assert emails.OUTBOX.claim(email.pk, now).next_attempt_at == now + emails.CLAIM_LEASE
    assert emails.OUTBOX.claim(email.pk, now) is None
    assert emails.send_email(email.pk, now=now) is None


# What is logged and stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "stored"),
    [
        (
            auth_error(),
            "SMTPAuthenticationError: the mail server refused the login (check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD) (535)",
        ),
        (
            smtplib.SMTPRecipientsRefused({"alice@example.com": (550, b"5.1.1 <alice@example.com> unknown")}),
            "SMTPRecipientsRefused: the mail server refused the recipients (550)",
        ),
        (
            smtplib.SMTPSenderRefused(553, f"sender {SMTP_USER} not allowed".encode(), "payram@localhost"),
            "SMTPSenderRefused: the mail server refused the sender address (DEFAULT_FROM_EMAIL) (553)",
        ),
        (
            smtplib.SMTPDataError(554, f"rejected for alice@example.com ({SECRET})".encode()),
            "SMTPDataError: the mail server refused the message (554)",
        ),
        (
            ConnectionRefusedError(111, f"smtp://{SMTP_USER}:{SECRET}@mail.example.com refused"),
            "ConnectionRefusedError: the mail server refused the connection",
        ),
        (TimeoutError(f"timed out talking to {SMTP_USER}"), "TimeoutError: the mail server did not answer in time"),
        (ValueError(f"bad address alice@example.com, password {SECRET}"), "ValueError: unexpected error while sending"),
    ],
)
def test_logs_and_the_stored_error_carry_no_credentials_or_addresses(shop, member, committed, flaky, caplog, error, stored):  # noqa: F811
    flaky.always = error
    link = _link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    with caplog.at_level(logging.DEBUG):
        email = _email_link(link, committed)
        with committed():
            deposit(quote.deposit_address, 10_000_000, confirmations=3)  # underpaid: "needs attention" to the owner
        for day in range(1, emails.MAX_ATTEMPTS + 1):  # a day apart: every retry is due
            emails.retry_due_emails(now=timezone.now() + timedelta(days=day))
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.last_error == stored
    attention = OutboundEmail.objects.get(link=link, kind=EmailKind.NEEDS_ATTENTION)
    assert attention.status == EmailStatus.FAILED and attention.recipients == ["merchant@example.com"]
    assert (
        f"email {email.pk} (link_to_member) for link {link.code}: try 6 of 6 not sent ({type(error).__name__}); giving up"
        in caplog.text
    )
    for secret in (SECRET, SMTP_USER, "alice@example.com", "merchant@example.com"):
        assert secret not in caplog.text
        assert secret not in email.last_error


# The email log in a real browser, at phone and desktop width

SHOTS = os.environ.get("PAYRAM_SHOTS", "")  # a directory: keep full-page PNGs of the link page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1280])
def test_the_email_log_and_resend_in_the_browser(new_context, live_server, merchant, password, project, member, width):
    from tests.support.browser import log_in

    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("25.00"), description="Order #1")
    now = timezone.now()
    sent = OutboundEmail.objects.create(
        link=link,
        kind=EmailKind.LINK_TO_MEMBER,
        recipients=[member.email],
        from_email="payram@localhost",
        subject="Payment request from Corner Shop: $25.00",
        text="Pay here",
        status=EmailStatus.SENT,
        attempts=2,
        last_attempt_at=now - timedelta(minutes=40),
        sent_at=now - timedelta(minutes=40),
        last_error="SMTPServerDisconnected: the mail server closed the connection",
    )
    OutboundEmail.objects.filter(pk=sent.pk).update(created_at=now - timedelta(minutes=41))
    failed = _failed_email(link)
    failed.kind = EmailKind.NEEDS_ATTENTION
    failed.recipients = ["merchant@example.com", "partner.with.a.rather.long.address@corner-shop.example.com"]
    failed.last_error = (
        "SMTPAuthenticationError: the mail server refused the login (check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD) (535)"
    )
    failed.save()

    page = new_context(viewport={"width": width, "height": 900}).new_page()
    log_in(page, live_server.url, merchant.username, password)
    page.goto(f"{live_server.url}/payments/{link.code}/#emails")
    log = page.locator("#emails")
    log.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert log.locator(f"#email-{sent.pk}").inner_text().count("Sent") >= 1
    assert "Resend" not in log.locator(f"#email-{sent.pk}").inner_text()
    failed_row = log.locator(f"#email-{failed.pk}")
    assert "Failed" in failed_row.inner_text() and "The mail server refused the login" in failed_row.inner_text()
    resend = failed_row.locator("button:has-text('Resend')")
    assert resend.is_visible()
    box = resend.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        log.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(SHOTS) / f"link-emails-{width}.png"), full_page=True)

    resend.click()
    page.locator("text=The email log below shows how it went").wait_for()
    failed.refresh_from_db()
    assert failed.status == EmailStatus.SENT
    assert "Sent" in page.locator(f"#email-{failed.pk}").inner_text()
    assert [m.subject for m in mail.outbox] == [failed.subject]
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"link-emails-{width}-resent.png"), full_page=True)


@pytest.mark.django_db
def test_a_message_queued_by_the_payram_before_the_outbox_becomes_a_row_and_is_sent(project, member, mailoutbox):
    from links.notifications.tasks import send_email_task

    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    old = {
        "kind": "link_to_member",
        "link": link.code,
        "to": ["alice@example.com"],
        "from": "payram@localhost",
        "subject": "Payment request",
        "text": "Pay",
        "html": "<p>Pay</p>",
    }
    assert send_email_task.apply(args=[old]).get() is True
    email = OutboundEmail.objects.get(link=link)
    assert (email.status, email.recipients, email.subject) == (EmailStatus.SENT, ["alice@example.com"], "Payment request")
    assert [m.subject for m in mailoutbox] == ["Payment request"]


@pytest.mark.django_db
def test_a_slow_mail_server_cannot_hold_up_a_housekeeping_pass(project, member, settings, monkeypatch):
    monkeypatch.setattr(emails, "OUTBOX", dataclasses.replace(emails.OUTBOX, sweep_seconds=0.05))
    settings.EMAIL_BACKEND = "tests.links.test_email_outbox.SlowBackend"
    SlowBackend.sent = []
    link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"))
    due = timezone.now() - timedelta(seconds=1)
    OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                link=link,
                kind=EmailKind.LINK_TO_MEMBER,
                recipients=["a@example.com"],
                from_email="payram@localhost",
                subject=f"Email {n}",
                text="t",
                next_attempt_at=due,
            )
            for n in range(10)
        ]
    )
    first = emails.retry_due_emails()
    assert 1 <= first < 10  # stopped once its time was up
    waiting = OutboundEmail.objects.filter(status=EmailStatus.QUEUED)
    assert waiting.count() == 10 - first and set(waiting.values_list("attempts", "next_attempt_at")) == {(0, due)}
    while OutboundEmail.objects.filter(status=EmailStatus.QUEUED).exists():
        emails.retry_due_emails()
    assert sorted(SlowBackend.sent) == sorted(f"Email {n}" for n in range(10))
