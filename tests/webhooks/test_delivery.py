"""Signed webhooks to a real HTTP receiver on 127.0.0.1: a full paid journey in order,
retries on the schedule, at-least-once, the address guard."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from links import services
from links.checkout import quote_create
from links.notifications import webhooks
from links.notifications.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEvent
from links.status import refresh_expired_links
from tests.links.pay_support import deposit, set_confirmations
from tests.webhooks.conftest import documented_verifier

pytestmark = pytest.mark.django_db

SECRET_HEADER = "Payram-Signature"


def _create_link(shop, member, committed, **kw):
    with committed():
        return services.link_create(project=shop, member=member, amount=Decimal("25.00"), description="Order #1", **kw)


def test_full_paid_journey_arrives_signed_and_in_order(shop, member, endpoint, receiver, committed):
    verify = documented_verifier()
    link = _create_link(shop, member, committed)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    with committed():
        first = deposit(quote.deposit_address, 10_000_000, confirmations=0)  # 10 of 25 USDC, mempool
    with committed():
        second = deposit(quote.deposit_address, 15_000_000, confirmations=0)  # the rest, mempool
    with committed():
        set_confirmations(first, 3)
        set_confirmations(second, 3)

    assert receiver.types == ["link.created", "payment.detected", "payment.underpaid", "payment.detected", "payment.confirmed"]
    for request in receiver.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert verify(endpoint.secret, request.headers[SECRET_HEADER], request.body)
        assert not verify("whsec_wrong", request.headers[SECRET_HEADER], request.body)
        assert not verify(endpoint.secret, request.headers[SECRET_HEADER], request.body + b" ")
        assert request.headers["Payram-Event-Id"] == request.event["id"]
    ids = [r.event["id"] for r in receiver.requests]
    assert len(set(ids)) == len(ids)

    paid = receiver.requests[-1].event
    assert paid["link"]["code"] == link.code
    assert paid["link"]["url"] == f"https://pay.example.com/pay/{link.code}/"
    assert (paid["link"]["status"], paid["link"]["detail"]) == ("successful", "paid")
    assert paid["link"]["member_email"] == "alice@example.com"
    assert (paid["link"]["amount"], paid["link"]["currency"]) == ("25.00", "USD")
    assert (paid["link"]["network"], paid["link"]["asset"]) == ("devnet", "USDC")
    assert (paid["link"]["amount_due"], paid["link"]["amount_due_base_units"]) == ("25", "25000000")
    assert (paid["link"]["amount_received"], paid["link"]["amount_received_base_units"]) == ("25", "25000000")
    assert [t["amount"] for t in paid["link"]["transactions"]] == ["10", "15"]
    assert [t["tx_hash"] for t in paid["link"]["transactions"]] == [first.tx_hash, second.tx_hash]
    assert paid["link"]["paid_at"]
    underpaid = receiver.requests[2].event
    assert (underpaid["link"]["detail"], underpaid["link"]["amount_received"]) == ("underpaid", "10")
    # Amounts are strings everywhere, never floats.
    assert not any(isinstance(v, float) for r in receiver.requests for v in _leaves(r.event))
    # Refreshing again changes nothing and sends nothing.
    with committed():
        set_confirmations(second, 4)
    assert len(receiver.requests) == 5


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_overpaid_and_late_and_cancelled_and_expired_events(shop, member, endpoint, receiver, committed):
    over = _create_link(shop, member, committed)
    quote = quote_create(link=over, network="devnet", asset="USDC")
    with committed():
        deposit(quote.deposit_address, 30_000_000, confirmations=3)
    assert receiver.types[-3:] == ["payment.detected", "payment.confirmed", "payment.overpaid"]
    assert receiver.requests[-1].event["link"]["amount_received"] == "30"

    late = _create_link(shop, member, committed)
    quote = quote_create(link=late, network="devnet", asset="USDC")
    with committed():
        deposit(quote.deposit_address, 25_000_000, confirmations=3, seen_at=quote.expires_at + timedelta(minutes=5))
    assert receiver.types[-3:] == ["payment.detected", "payment.confirmed", "payment.late"]
    assert receiver.requests[-1].event["link"]["detail"] == "paid_late"

    cancelled = _create_link(shop, member, committed)
    quote = quote_create(link=cancelled, network="devnet", asset="USDC")
    with committed():
        services.link_cancel(link=cancelled)
    with committed():
        services.link_cancel(link=cancelled)  # twice: one event
    assert receiver.types[-2:] == ["link.created", "link.cancelled"]
    with committed():
        deposit(quote.deposit_address, 25_000_000, confirmations=3)  # paid after cancel
    assert receiver.types[-2:] == ["payment.detected", "payment.late"]
    assert (receiver.requests[-1].event["link"]["status"], receiver.requests[-1].event["link"]["detail"]) == (
        "cancelled",
        "refund_due",
    )

    expiring = _create_link(shop, member, committed, expires_at=timezone.now() + timedelta(hours=1))
    with committed():
        refresh_expired_links(now=timezone.now() + timedelta(hours=2))
    assert receiver.types[-1] == "link.expired"
    assert receiver.requests[-1].event["link"]["code"] == expiring.code


def test_only_subscribed_events_go_to_an_endpoint_and_paused_ones_get_none(shop, member, receiver, committed):
    picky = webhooks.endpoint_create(project=shop, url=receiver.url, events=["payment.confirmed"])
    _create_link(shop, member, committed)
    assert receiver.requests == []
    webhooks.endpoint_set_active(endpoint=picky, active=False)
    picky.events = ["link.created"]
    picky.save()
    _create_link(shop, member, committed)
    assert receiver.requests == []
    assert WebhookEvent.objects.filter(type="link.created").count() == 2  # recorded for redelivery anyway


def test_answers_500_twice_then_retries_on_the_schedule_until_delivered(shop, member, endpoint, receiver, committed):
    receiver.answers = [500, 500]
    _create_link(shop, member, committed)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    first = delivery.attempt_log.get()
    assert first.status_code == 500
    assert first.response_excerpt.startswith("receiver says no") and len(first.response_excerpt) == 500
    assert delivery.next_attempt_at - first.attempted_at == timedelta(seconds=30)

    assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0  # not due yet
    assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    second = delivery.attempt_log.order_by("number").last()
    assert (second.number, second.status_code, delivery.attempts) == (2, 500, 2)
    assert delivery.next_attempt_at - second.attempted_at == timedelta(minutes=2)

    assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (
        DeliveryState.SUCCEEDED,
        3,
        200,
        None,
    )
    assert len(receiver.requests) == 3
    assert len({r.event["id"] for r in receiver.requests}) == 1  # the same event: receivers dedupe by id
    assert len({r.body for r in receiver.requests}) == 1
    assert webhooks.retry_due_webhooks(now=timezone.now() + timedelta(days=2)) == 0


def test_schedule_covers_about_a_day_with_at_least_eight_attempts_then_gives_up(shop, member, committed, receiver):
    delays = [webhooks.OUTBOX.next_retry_delay(n) for n in range(1, webhooks.MAX_ATTEMPTS)]
    assert delays == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=6),
        timedelta(hours=12),
    ]
    assert webhooks.MAX_ATTEMPTS >= 8
    assert timedelta(hours=20) < sum(delays, timedelta()) < timedelta(hours=26)

    webhooks.endpoint_create(project=shop, url="http://127.0.0.1:1/nobody-listens", events=["link.created"])
    _create_link(shop, member, committed)
    delivery = WebhookDelivery.objects.get()
    while delivery.state == DeliveryState.PENDING:
        assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at) == 1
        delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, webhooks.MAX_ATTEMPTS)
    assert all(a.error.startswith("connection failed") for a in delivery.attempt_log.all())


def test_a_slow_receiver_times_out_and_is_retried(shop, member, endpoint, receiver, committed, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    started = time.monotonic()
    _create_link(shop, member, committed)
    assert time.monotonic() - started < 5
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "timed out" in attempt.error
    assert WebhookDelivery.objects.get().state == DeliveryState.PENDING


def test_a_claimed_attempt_is_not_sent_twice(shop, member, endpoint, receiver, committed, monkeypatch):
    from payram.lib import background

    monkeypatch.setattr(background, "_start", lambda task, args: None)  # the first-try task is "lost"
    _create_link(shop, member, committed)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    assert webhooks.OUTBOX.claim(delivery.pk, now) is not None
    assert webhooks.OUTBOX.claim(delivery.pk, now) is None  # another worker loses the race
    assert webhooks.retry_due_webhooks(now=now) == 0
    # A worker that died mid-attempt: the lease runs out and the sweep sends it.
    assert webhooks.retry_due_webhooks(now=now + webhooks.CLAIM_LEASE) == 1
    assert receiver.types == ["link.created"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://172.16.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
        # IPv6 forms that carry 127.0.0.1: IPv4-compatible, NAT64, 6to4, SIIT, ISATAP, Teredo.
        "http://[::127.0.0.1]:8407/",
        "http://[64:ff9b::7f00:1]:8407/",
        "http://[2002:7f00:1::1]:8407/",
        "http://[::ffff:0:7f00:1]/hook",
        "http://[2a00:1450::5efe:7f00:1]/hook",
        "http://[64:ff9b:1::5db8:d70e]/hook",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
        # Hosts that Python's URL parser and the HTTP client read differently, or hidden behind user info.
        "http://127.0.0.1:8407\\@1.1.1.1/",
        "http://1.1.1.1\\@127.0.0.1:8407/",
        "http://user:pw@1.1.1.1/hook",
        "http://1.1.1.1@127.0.0.1/",
        "http://1.1.1.1:99999/hook",
        "http://1.1.1.1 /hook",
    ],
)
def test_endpoints_may_not_point_at_private_addresses(shop, settings, url):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as error:
        webhooks.endpoint_create(project=shop, url=url, events=["link.created"])
    assert "url" in error.value.message_dict


def test_ambiguous_urls_are_refused_even_where_private_addresses_are_allowed(shop, settings):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = True
    for url in ("http://127.0.0.1:8407\\@1.1.1.1/", "http://user@127.0.0.1/hook"):
        with pytest.raises(ValidationError):
            webhooks.endpoint_create(project=shop, url=url, events=["link.created"])
    assert webhooks.endpoint_create(project=shop, url="http://127.0.0.1:8407/hook", events=["link.created"]).pk


def test_an_ipv6_form_of_a_public_ipv4_address_is_accepted(shop, settings):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = False
    for address in ("64:ff9b::5db8:d70e", "2002:5db8:d70e::1"):  # NAT64 and 6to4 of 93.184.215.14
        webhooks.check_ip(address)
    with pytest.raises(webhooks.ForbiddenAddress, match="carries 127.0.0.1"):
        webhooks.check_ip("::127.0.0.1")


def test_public_address_is_accepted(shop, settings):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = False
    webhooks.check_ip("93.184.215.14")
    with pytest.raises(webhooks.ForbiddenAddress):
        webhooks.check_ip("100.64.0.1")  # carrier-grade NAT is not public either


def test_delivery_checks_the_address_again(shop, member, endpoint, receiver, committed, settings, monkeypatch):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = False  # the endpoint was saved while allowed (DNS changed since)
    _create_link(shop, member, committed)
    attempt = WebhookAttempt.objects.get()
    assert attempt.error.startswith("refused") and attempt.status_code is None
    assert receiver.requests == []
    # Even if the name-based check were fooled (DNS rebinding), the connected peer is checked.
    monkeypatch.setattr(webhooks, "check_url", lambda url: None)
    delivery = WebhookDelivery.objects.get()
    webhooks.retry_due_webhooks(now=delivery.next_attempt_at)
    assert WebhookAttempt.objects.order_by("number").last().error.startswith("refused")
    assert receiver.requests == []


def test_signature_format():
    assert webhooks.sign("whsec_x", 1700000000, b"{}") == (
        "t=1700000000,v1=" + __import__("hmac").new(b"whsec_x", b"1700000000.{}", "sha256").hexdigest()
    )
    verify = documented_verifier()
    header = webhooks.sign("whsec_x", int(time.time()) - 301, b"{}")
    assert not verify("whsec_x", header, b"{}")  # older than the 5-minute tolerance
    assert verify("whsec_x", webhooks.sign("whsec_x", int(time.time()) - 200, b"{}"), b"{}")
    assert not verify("whsec_x", "garbage", b"{}")
