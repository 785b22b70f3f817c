from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from links.services import link_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(project, member, merchant):
    return link_create(project=project, member=member, amount=Decimal("25.50"), description="Two coffees & cake", created_by=merchant)


def test_link_page_shows_public_url_share_links_and_qr(merchant_client, link, settings):
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    public = f"https://pay.example.com/pay/{link.code}/"
    response = merchant_client.get(f"/payments/{link.code}/")
    body = response.content.decode()
    assert f'value="{public}"' in body
    assert "$25.50" in body and "Two coffees &amp; cake" in body and "Pending" in body
    assert "<svg" in body and 'aria-label="QR code of the payment link"' in body
    assert f"/payments/{link.code}/qr.png" in body

    share = response.context["share"]
    whatsapp = parse_qs(urlparse(share["whatsapp"]).query)["text"][0]
    assert public in whatsapp and "$25.50" in whatsapp and "Two coffees & cake" in whatsapp
    telegram = parse_qs(urlparse(share["telegram"]).query)
    assert telegram["url"] == [public] and "Two coffees & cake" in telegram["text"][0]
    assert share["sms"].startswith("sms:?&body=") and public in unquote(share["sms"])
    email = parse_qs(urlparse(share["email"]).query)
    assert email["subject"] == ["Payment request: $25.50"] and public in email["body"][0]
    # the ampersand in the description cannot break out of its parameter
    assert "&cake" not in share["whatsapp"] and "& cake" not in share["telegram"]


def test_qr_png_download(merchant_client, link):
    response = merchant_client.get(f"/payments/{link.code}/qr.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert f'filename="payram-{link.code}.png"' in response["Content-Disposition"]


def test_cancel_asks_for_confirmation_then_cancels(merchant_client, link):
    confirm = merchant_client.get(f"/payments/{link.code}/cancel/")
    assert "Cancel this payment link?" in confirm.content.decode()
    link.refresh_from_db()
    assert link.status == LinkStatus.PENDING  # GET changes nothing

    response = merchant_client.post(f"/payments/{link.code}/cancel/", follow=True)
    link.refresh_from_db()
    assert link.status == LinkStatus.CANCELLED and link.cancelled_at is not None
    body = response.content.decode()
    assert "Payment link cancelled" in body and "Cancelled" in body
    assert "Cancel link" not in body


def test_cancelling_twice_keeps_the_first_time(merchant_client, link):
    merchant_client.post(f"/payments/{link.code}/cancel/")
    link.refresh_from_db()
    first = link.cancelled_at
    merchant_client.post(f"/payments/{link.code}/cancel/")
    link.refresh_from_db()
    assert link.cancelled_at == first


def test_a_successful_link_cannot_be_cancelled(merchant_client, link, monkeypatch):
    from links import services
    from links.status import LinkState

    paid = LinkState(LinkStatus.SUCCESSFUL, "paid", 25_500_000, "base", "USDC", timezone.now())
    monkeypatch.setattr("links.status.derive_status", lambda link, now=None: paid)
    services.refresh_link_status(link)
    response = merchant_client.post(f"/payments/{link.code}/cancel/", follow=True)
    link.refresh_from_db()
    assert link.status == LinkStatus.SUCCESSFUL and link.cancelled_at is None
    assert "already been paid, so it cannot be cancelled" in response.content.decode()


def test_cancel_needs_post_with_csrf(link, merchant):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(merchant)
    assert strict.post(f"/payments/{link.code}/cancel/").status_code == 403
    link.refresh_from_db()
    assert link.status == LinkStatus.PENDING


def test_another_merchants_link_is_not_found(client, other_merchant, link):
    client.force_login(other_merchant)
    for url in [f"/payments/{link.code}/", f"/payments/{link.code}/qr.png", f"/payments/{link.code}/cancel/", "/payments/no-such-code/"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/payments/{link.code}/cancel/").status_code == 404
    link.refresh_from_db()
    assert link.status == LinkStatus.PENDING


def test_script_in_description_and_member_name_shows_as_text(merchant_client, project, merchant):
    from members.models import Member

    evil = Member.objects.create(project=project, email="evil@example.com", name="<script>alert('m')</script>")
    link = link_create(project=project, member=evil, amount=Decimal("1"), description="<script>alert('d')</script>")
    for url in [f"/payments/{link.code}/", "/payments/"]:
        body = merchant_client.get(url).content.decode()
        assert "<script>alert(" not in body, url
        assert "&lt;script&gt;alert(&#x27;d&#x27;)" in body, url
    assert "&lt;script&gt;alert(&#x27;m&#x27;)" in merchant_client.get(f"/payments/{link.code}/").content.decode()


def test_a_link_past_its_expiry_shows_expired(merchant_client, link):
    from datetime import timedelta

    from links.models import PaymentLink

    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    body = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert "badge-expired" in body and ">Expired<" in body
    link.refresh_from_db()
    assert link.status == LinkStatus.EXPIRED


def test_link_page_warns_when_the_project_cannot_take_payments_yet(merchant_client, link):
    body = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert "Corner Shop has no wallet yet, so customers cannot pay this link." in body
    from chain.models import Wallet

    Wallet.objects.create(project=link.project, family="evm", xpub="xpub-placeholder", script_type="evm")
    assert "has no wallet yet" not in merchant_client.get(f"/payments/{link.code}/").content.decode()


def test_menu_marks_the_current_section(merchant_client, link):
    body = merchant_client.get("/members/projects/").content.decode()
    assert 'href="/members/projects/" class="active" aria-current="page">Projects' in body
    assert 'href="/members/" class="active"' not in body


def test_public_codes_are_long_random_and_never_start_with_a_symbol():
    from links.models import new_public_code

    codes = {new_public_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 22 and c[0].isalnum() for c in codes)
