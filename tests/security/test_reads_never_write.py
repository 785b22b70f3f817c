"""Reads never write (issue 11). Every GET a customer, a merchant or a shop's server makes
(pay page, status poll, receipt, the link's page, All Payments, the CSV, the API) leaves
every table as it was and sends nothing, whatever state the link is in; including a link
whose expiry passed and one whose deposit landed before the status writer ran, which the
pages must still *show* as they are now. Status is stored by the writers only (scanner,
quote, cancel, settle, housekeeping)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chain.models import Deposit
from links.checkout import quote_create
from links.models import LinkStatus, PaymentLink, Quote
from links.notifications.models import OutboundEmail, WebhookEndpoint, WebhookEvent
from links.resolution import link_settle
from links.services import link_cancel
from links.status import refresh_expired_links, update_link_state
from members.services import api_key_create
from tests.api.conftest import ApiClient
from tests.links.pay_support import deposit, make_link
from tests.links.test_checkout import shop  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _every_row() -> dict:
    """Every row of every table, by model: a GET must leave this exactly as it was."""
    return {model._meta.label: sorted(map(repr, model._base_manager.values_list())) for model in apps.get_models()}


def _writes(queries) -> list[str]:
    found = []
    for q in queries:
        sql = q["sql"].lstrip().upper()
        if sql.startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in sql:
            found.append(q["sql"])
    return found


@pytest.fixture
def links(shop, member):  # noqa: F811
    """Links in several states, each named by what a GET must not store for it."""
    WebhookEndpoint.objects.create(project=shop, url="https://shop.example.com/hook", events=["*"])
    now = timezone.now()

    awaiting = make_link(shop, member, description="awaiting")
    quote_create(link=awaiting, network="devnet", asset="USDC")

    # The link's own expiry passed a moment ago; housekeeping has not run yet.
    expired_unsaved = make_link(shop, member, description="expired, not yet stored")
    quote_create(link=expired_unsaved, network="devnet", asset="USDC")
    PaymentLink.objects.filter(pk=expired_unsaved.pk).update(expires_at=now - timedelta(minutes=1))

    # The quote ran out (the customer must pick again), the link is still open.
    quote_expired = make_link(shop, member, description="quote expired")
    quote_create(link=quote_expired, network="devnet", asset="USDC")
    Quote.objects.filter(link=quote_expired).update(expires_at=now - timedelta(seconds=5))

    # A deposit was recorded, but the status writer has not run (no deposits_changed yet).
    landed_unsaved = make_link(shop, member, description="deposit landed, not yet stored")
    q = quote_create(link=landed_unsaved, network="devnet", asset="USDC")
    Deposit.objects.create(
        network="devnet",
        asset="USDC",
        tx_hash="0x" + "ee" * 32,
        index=0,
        address=q.deposit_address,
        value=int(q.amount_due),
        confirmations=0,
        block_height=None,
        block_hash="",
    )

    paid = make_link(shop, member, description="paid")
    q = quote_create(link=paid, network="devnet", asset="USDC")
    deposit(q.deposit_address, int(q.amount_due), confirmations=50)

    cancelled = make_link(shop, member, description="cancelled")
    link_cancel(link=cancelled)

    settled = make_link(shop, member, description="settled")
    q = quote_create(link=settled, network="devnet", asset="USDC")
    deposit(q.deposit_address, int(q.amount_due) // 2, confirmations=50)  # underpaid: may be settled
    link_settle(link=settled, note="paid by bank transfer")

    never_quoted = make_link(shop, member, description="never quoted")
    found = {
        name: PaymentLink.objects.get(pk=link.pk)
        for name, link in {
            "awaiting": awaiting,
            "expired_unsaved": expired_unsaved,
            "quote_expired": quote_expired,
            "landed_unsaved": landed_unsaved,
            "paid": paid,
            "cancelled": cancelled,
            "settled": settled,
            "never_quoted": never_quoted,
        }.items()
    }
    assert found["expired_unsaved"].status == LinkStatus.PENDING  # not stored yet: the case under test
    assert found["landed_unsaved"].status_detail == "awaiting_payment"
    assert found["paid"].status == LinkStatus.SUCCESSFUL
    return found


def _gets(link) -> list[tuple[str, str, dict]]:
    """(who, path, headers) of every GET that shows this link (the pay page also as a chat
    app's crawler sees it: the link preview)."""
    htmx = {"HTTP_HX_REQUEST": "true"}
    return [
        ("customer", f"/pay/{link.code}/", {}),
        ("crawler", f"/pay/{link.code}/", {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}),
        ("customer", f"/pay/{link.code}/preview.png", {}),
        ("customer", f"/pay/{link.code}/qr.png", {}),
        ("customer", f"/pay/{link.code}/qr.svg", {}),
        ("customer", f"/pay/{link.code}/status/", htmx),
        ("customer", f"/pay/{link.code}/status/?v=stale", htmx),
        ("customer", f"/pay/{link.code}/status/?change=1", htmx),
        ("customer", f"/pay/{link.code}/receipt/", {}),
        ("merchant", f"/payments/{link.code}/", {}),
        ("merchant", f"/payments/{link.code}/?v=stale", htmx),
        ("merchant", f"/payments/{link.code}/qr.png", {}),
        ("merchant", f"/payments/{link.code}/settle/", {}),
        ("merchant", f"/payments/{link.code}/refund/", {}),
        ("merchant", f"/payments/{link.code}/cancel/", {}),
        ("merchant", "/", {}),  # the Overview
        ("merchant", "/payments/", {}),
        ("merchant", "/payments/?status=pending", {}),
        ("merchant", "/payments/export.csv", {}),
        ("api", f"/api/v1/links/{link.code}", {}),
        ("api", "/api/v1/links", {}),
    ]


def _fetch(client, path, headers):
    response = client.get(path, **headers)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # the CSV is drawn while it streams
    return response


@pytest.mark.parametrize(
    "name",
    ["awaiting", "expired_unsaved", "quote_expired", "landed_unsaved", "paid", "cancelled", "settled", "never_quoted"],
)
def test_no_get_changes_a_row_or_sends_anything(name, links, client, merchant_client, shop, django_capture_on_commit_callbacks):  # noqa: F811
    link = links[name]
    _, key = api_key_create(project=shop, name="checkout")
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    # The one write a GET may cause is an API key's "last used" time (members.services:
    # at most once a minute, the key's audit, not the link's): made here, before the count.
    assert client.get("/api/v1/links", **api_headers).status_code == 200
    mail.outbox.clear()
    before = _every_row()
    events, emails = WebhookEvent.objects.count(), OutboundEmail.objects.count()
    clients = {"customer": client, "crawler": client, "merchant": merchant_client, "api": client}
    for who, path, headers in _gets(link):
        if who == "api":
            headers = {**headers, **api_headers}
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
            response = _fetch(clients[who], path, headers)
        assert response.status_code < 500, path
        assert _writes(queries.captured_queries) == [], f"GET {path} wrote"
        assert callbacks == [], f"GET {path} queued work for after a commit"
    assert _every_row() == before, "a GET changed a row"
    assert (WebhookEvent.objects.count(), OutboundEmail.objects.count()) == (events, emails)
    assert mail.outbox == []


def test_pages_show_the_state_as_of_now_before_it_is_stored(links, client, merchant_client, api):
    """A read derives what the facts say: the passed expiry shows Expired, the landed
    deposit shows as seen, though neither row says so yet."""
    expired, landed = links["expired_unsaved"], links["landed_unsaved"]
    assert ">Expired<" in merchant_client.get(f"/payments/{expired.code}/").content.decode()
    assert api.get(f"/api/v1/links/{expired.code}").json()["status"] == "expired"
    assert "Payment seen" in client.get(f"/pay/{landed.code}/").content.decode()
    assert api.get(f"/api/v1/links/{landed.code}").json()["detail"] == "payment_seen"
    expired.refresh_from_db()
    landed.refresh_from_db()
    assert (expired.status, landed.status_detail) == (LinkStatus.PENDING, "awaiting_payment")  # still as stored

    # The writers store them (and announce them): housekeeping, and the scanner's signal.
    events = WebhookEvent.objects.count()
    refresh_expired_links()
    update_link_state(landed)
    expired.refresh_from_db()
    landed.refresh_from_db()
    assert (expired.status, landed.status_detail) == (LinkStatus.EXPIRED, "payment_seen")
    assert WebhookEvent.objects.count() > events


@pytest.fixture
def api(shop):  # noqa: F811
    _, key = api_key_create(project=shop, name="reader")
    return ApiClient(Client(), key)
