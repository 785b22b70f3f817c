"""Mark as paid: the merchant resolves an underpaid, expired-with-money or refund-due link
by hand, with a note; an audit record, a link.settled webhook, the API. Recorded deposits
never change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chain.models import Deposit
from links.models import LinkSettlement, LinkStatus, PaymentLink
from links.notifications.models import WebhookEvent
from links.status import refresh_expired_links
from tests.links.pay_support import deposit, make_link, make_quote

pytestmark = pytest.mark.django_db

DUE = 25_000_000


@pytest.fixture(autouse=True)
def hooks(project, settings):
    from links.notifications.webhooks import endpoint_create

    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = True
    endpoint_create(project=project, url="https://hooks.example.com/payram", events=["link.settled", "payment.confirmed"])


@pytest.fixture
def link(project, member):
    return make_link(project, member)


@pytest.fixture
def address(evm_address, link):
    a = evm_address()
    link.deposit_addresses.add(a)
    return a


@pytest.fixture
def underpaid(link, address):
    make_quote(link, address, amount_due=DUE)
    deposit(address, 20_000_000)
    assert PaymentLink.objects.get(pk=link.pk).status_detail == "underpaid"
    return link


def stored(link) -> PaymentLink:
    return PaymentLink.objects.get(pk=link.pk)


def test_merchant_marks_an_underpaid_link_as_paid_with_a_note(merchant_client, underpaid, merchant):
    page = merchant_client.get(f"/payments/{underpaid.code}/").content.decode()
    assert 'id="settle-link"' in page
    form = merchant_client.get(f"/payments/{underpaid.code}/settle/").content.decode()
    assert "Note (required)" in form
    before = list(Deposit.objects.values_list("id", "value", "confirmations", "orphaned"))

    response = merchant_client.post(f"/payments/{underpaid.code}/settle/", {"note": "The rest came by bank transfer"})
    assert response.status_code == 302
    link = stored(underpaid)
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "settled", 20_000_000)
    assert list(Deposit.objects.values_list("id", "value", "confirmations", "orphaned")) == before
    record = LinkSettlement.objects.get(link=link)
    assert (record.settled_by, record.settled_by_name, record.status_before, record.detail_before) == (
        merchant,
        "merchant",
        "pending",
        "underpaid",
    )
    page = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert "Settled by hand" in page and "The rest came by bank transfer" in page and "Before: Pending (Underpaid)" in page
    assert 'id="settle-link"' not in page
    assert "Marked as paid" in merchant_client.get("/payments/").content.decode()

    [event] = WebhookEvent.objects.filter(type="link.settled")
    assert event.payload["link"]["detail"] == "settled"
    assert event.payload["link"]["settlement"]["note"] == "The rest came by bank transfer"
    assert event.payload["link"]["settlement"]["detail_before"] == "underpaid"
    assert not WebhookEvent.objects.filter(type="payment.confirmed").exists()  # nothing was confirmed on chain


def test_a_note_is_required_and_nothing_changes_without_one(merchant_client, underpaid):
    response = merchant_client.post(f"/payments/{underpaid.code}/settle/", {"note": "   "})
    assert response.status_code == 400
    assert "Write a note" in response.content.decode()
    assert stored(underpaid).status_detail == "underpaid"
    assert not LinkSettlement.objects.exists() and not WebhookEvent.objects.filter(type="link.settled").exists()


def test_an_expired_link_with_money_can_be_settled(merchant_client, link, address):
    make_quote(link, address, amount_due=DUE, created_at=timezone.now() - timedelta(days=3))
    deposit(address, DUE, seen_at=timezone.now() - timedelta(days=1))  # paid past the late window
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(days=2, hours=12))
    refresh_expired_links()  # housekeeping stores the expiry (a GET no longer does)
    assert (stored(link).status, stored(link).status_detail) == (LinkStatus.EXPIRED, "refund_due")
    assert merchant_client.post(f"/payments/{link.code}/settle/", {"note": "Kept at the old rate"}).status_code == 302
    assert (stored(link).status, stored(link).status_detail) == (LinkStatus.SUCCESSFUL, "settled")
    assert LinkSettlement.objects.get().status_before == "expired"


def test_a_cancelled_link_paid_anyway_can_be_settled(merchant_client, link, address):
    make_quote(link, address, amount_due=DUE)
    merchant_client.post(f"/payments/{link.code}/cancel/")
    deposit(address, DUE)
    assert stored(link).status_detail == "refund_due"
    assert merchant_client.post(f"/payments/{link.code}/settle/", {"note": "Customer wants it after all"}).status_code == 302
    assert stored(link).status_detail == "settled"


@pytest.mark.parametrize("paid", [0, DUE])
def test_only_underpaid_or_refund_due_links_can_be_settled(merchant_client, link, address, paid):
    make_quote(link, address, amount_due=DUE)
    if paid:
        deposit(address, paid)
    assert 'id="settle-link"' not in merchant_client.get(f"/payments/{link.code}/").content.decode()
    response = merchant_client.post(f"/payments/{link.code}/settle/", {"note": "why not"})
    assert response.status_code == 400
    assert "already been paid" in response.content.decode() if paid else "Only an underpaid link" in response.content.decode()
    assert not LinkSettlement.objects.exists()


def test_another_merchant_gets_404_and_changes_nothing(client, other_merchant, underpaid):
    client.force_login(other_merchant)
    assert client.get(f"/payments/{underpaid.code}/settle/").status_code == 404
    assert client.post(f"/payments/{underpaid.code}/settle/", {"note": "mine now"}).status_code == 404
    assert stored(underpaid).status_detail == "underpaid"


def test_api_settles_with_a_note_and_shows_the_record(underpaid, project, client):
    from members.services import api_key_create
    from tests.api.conftest import documented

    _, key = api_key_create(project=project, name="Back office")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    url = f"/api/v1/links/{underpaid.code}/settle"
    doc = "/api/v1/links/{code}/settle"
    missing = client.post(url, "{}", content_type="application/json", **auth)
    assert missing.status_code == 400 and documented(missing, doc, "post")["errors"]["note"]
    response = client.post(url, '{"note": "Paid in cash"}', content_type="application/json", **auth)
    assert response.status_code == 200
    body = documented(response, doc, "post")
    assert (body["status"], body["detail"]) == ("successful", "settled")
    assert body["settlement"]["settled_by"] == "API key Back office" and body["settlement"]["note"] == "Paid in cash"
    again = client.post(url, '{"note": "twice"}', content_type="application/json", **auth)
    assert again.status_code == 409
    got = client.get(f"/api/v1/links/{underpaid.code}", **auth).json()
    assert got["settlement"]["status_before"] == "pending"
