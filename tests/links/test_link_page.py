from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from django.utils import timezone

from links.models import LinkStatus
from links.services import link_create
from links.status import refresh_expired_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(project, member, merchant):
    return link_create(
        project=project, member=member, amount=Decimal("25.50"), description="Two coffees & cake", created_by=merchant
    )


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
    monkeypatch.setattr("links.status.derive_status", lambda link, now=None, **hints: paid)
    services.update_link_state(link)
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
    for url in [
        f"/payments/{link.code}/",
        f"/payments/{link.code}/qr.png",
        f"/payments/{link.code}/cancel/",
        "/payments/no-such-code/",
    ]:
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
    assert "badge-expired" in body and ">Expired<" in body  # shown at once, from the facts
    link.refresh_from_db()
    assert link.status == LinkStatus.PENDING  # a read never writes
    refresh_expired_links()  # housekeeping (the periodic job) stores it
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


# --- What the customer did, as the merchant sees it on the link page ---------------------

from datetime import timedelta  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import dateformat  # noqa: E402

from tests.links.pay_support import deposit, make_quote, set_confirmations  # noqa: E402

USDC_25 = 25_000_000  # 25 USDC in base units (6 decimals)


@pytest.fixture
def address(evm_address, link):
    a = evm_address("0x1111111111111111111111111111111111111111")
    link.deposit_addresses.add(a)
    return a


@pytest.fixture
def on_base(link, address, project):
    """The customer picked USDC on Base (20 confirmations by default; 3 for this project)."""
    project.confirmation_overrides = {"base": 3}
    project.save(update_fields=["confirmation_overrides"])
    make_quote(link, address, network="base", asset="USDC", amount_due=USDC_25)
    return link


def _page(client, link) -> str:
    return client.get(f"/payments/{link.code}/").content.decode()


def _text(html: str) -> str:
    """The page's words, tags and extra whitespace removed, as a reader sees them."""
    import re

    inline = re.sub(r"</?(?:strong|span|a|code|em|b)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline))


def test_quote_is_shown_before_any_payment(merchant_client, on_base):
    body = _page(merchant_client, on_base)
    text = _text(body)
    assert "Waiting for the customer to pay 25 USDC on Base." in text
    assert "USDC on Base" in text and "0x1111111111111111111111111111111111111111" in body
    assert 'href="https://basescan.org/address/0x1111111111111111111111111111111111111111"' in body
    assert "Quote expires" in text and "Transactions (0)" in text and "No transaction yet" in text


def test_a_link_nobody_opened_says_no_coin_was_picked(merchant_client, link):
    text = _text(_page(merchant_client, link))
    assert "Waiting for the customer to open the pay page and pick a coin." in text
    assert "Amount due" not in text


def test_paid_link_shows_amount_coin_network_time_and_each_transaction(merchant_client, on_base, address):
    tx = "0x" + "ab" * 32
    dep = deposit(address, USDC_25, network="base", asset="USDC", confirmations=5, tx_hash=tx)
    body = _page(merchant_client, on_base)
    text = _text(body)
    assert ">Successful<" in body
    assert "Paid in full: 25 USDC on Base." in text
    assert "Received 25 USDC on Base" in text
    assert dateformat.format(timezone.localtime(dep.first_seen_at), "Y-m-d H:i:s") in text  # time paid
    assert "Transactions (1)" in text
    assert f'href="https://basescan.org/tx/{tx}"' in body
    assert "3 of 3" in text and "Confirmed" in text
    assert "Cancel link" not in body


def test_underpaid_link_says_received_and_remaining(merchant_client, on_base, address):
    deposit(address, 10_000_000, network="base", asset="USDC", confirmations=3)
    deposit(address, 2_500_001, network="base", asset="USDC", confirmations=1)
    text = _text(_page(merchant_client, on_base))
    assert "Underpaid: received 12.500001 USDC of 25 USDC, 12.499999 USDC remaining." in text
    assert "(10 confirmed)" in text  # received counts the unconfirmed part too, and says so
    assert "1 of 3" in text and "Transactions (2)" in text


def test_confirming_link_says_n_of_n(merchant_client, on_base, address):
    dep = deposit(address, USDC_25, network="base", asset="USDC", confirmations=0)
    text = _text(_page(merchant_client, on_base))
    assert "25 USDC seen in the mempool" in text and "0 of 3" in text and "Mempool" in text
    set_confirmations(dep, 2)
    text = _text(_page(merchant_client, on_base))
    assert "confirming, 2 of 3 confirmations" in text


def test_overpaid_link_shows_the_excess(merchant_client, on_base, address):
    deposit(address, 30_000_000, network="base", asset="USDC", confirmations=3)
    text = _text(_page(merchant_client, on_base))
    assert "Overpaid: received 30 USDC for 25 USDC due, 5 USDC more than asked." in text


def test_paid_late_is_flagged(merchant_client, link, address, project):
    long_ago = timezone.now() - timedelta(hours=2)
    make_quote(link, address, network="devnet", asset="USDC", amount_due=USDC_25, created_at=long_ago)
    deposit(address, USDC_25, network="devnet", asset="USDC", confirmations=3)
    body = _page(merchant_client, link)
    text = _text(body)
    assert ">Successful<" in body and "Paid late" in text
    assert "arrived after the quote expired" in text
    assert "(expired)" in text  # the quote's expiry, as a fact
    # devnet has no explorer: the hash is shown, not linked
    assert 'class="hash"' in body and "basescan" not in body


def test_payment_to_a_cancelled_link_is_a_refund_due(merchant_client, on_base, address):
    from links.services import link_cancel

    link_cancel(link=on_base)
    deposit(address, USDC_25, network="base", asset="USDC", confirmations=3)
    text = _text(_page(merchant_client, on_base))
    assert "Refund due: money arrived after the link was cancelled (25 USDC)" in text
    assert "return it to the customer" in text


def test_orphaned_and_uncounted_transactions_are_flagged(merchant_client, on_base, address):
    deposit(address, USDC_25, network="base", asset="USDC", confirmations=0, orphaned=True)
    deposit(address, 10**16, network="base", asset="ETH", confirmations=3)  # 0.01 ETH, another coin
    body = _page(merchant_client, on_base)
    text = _text(body)
    assert "Transactions (2)" in text
    assert "Orphaned" in text and "no longer counts" in text and "is-orphaned" in body
    assert "0.01 ETH" in text and "Not counted" in text
    assert "1 transaction in another coin or network reached this address" in text
    assert "Waiting for the customer to pay 25 USDC on Base." in text  # neither counts toward it


def test_link_page_queries_do_not_grow_with_transactions(merchant_client, on_base, address):
    deposit(address, 1_000_000, network="base", asset="USDC", confirmations=3)
    _page(merchant_client, on_base)
    with CaptureQueriesContext(connection) as one:
        _page(merchant_client, on_base)
    for _ in range(6):
        deposit(address, 1_000_000, network="base", asset="USDC", confirmations=3)
    _page(merchant_client, on_base)  # the status changes once (a write); then it is steady
    with CaptureQueriesContext(connection) as seven:
        body = _page(merchant_client, on_base)
    assert "Transactions (7)" in _text(body)
    assert len(seven) == len(one)


def test_dashboard_pages_have_no_inline_styles_or_scripts(merchant_client, on_base, address):
    """A Content-Security-Policy that allows only our own files must not break a page."""
    import re

    from chain.models import Wallet
    from tests.chain.test_hd import EVM_XPUB

    Wallet.objects.filter(pk=address.wallet_id).update(xpub=EVM_XPUB)  # the Wallets page derives from it
    deposit(address, USDC_25, network="base", asset="USDC", confirmations=3)
    for url in [
        "/payments/",
        f"/payments/{on_base.code}/",
        "/payments/new/",
        "/members/",
        "/members/projects/",
        "/chain/wallets/",
        "/chain/health/",
    ]:
        html = merchant_client.get(url).content.decode()
        assert "<style" not in html and "style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+=", html), url


# --- The page follows the payment and leads with its outcome ------------------------------


def test_email_share_is_addressed_to_the_member(merchant_client, link):
    share = merchant_client.get(f"/payments/{link.code}/").context["share"]
    assert share["email"].startswith("mailto:alice@example.com?subject=")


def test_link_page_polls_while_open_answers_204_until_something_changes(merchant_client, on_base, address):
    import re

    body = _page(merchant_client, on_base)
    poll = re.search(r'id="link-live" hx-get="([^"]+)" hx-trigger="every 3s" hx-select="#link-live"', body).group(1)
    poll = poll.replace("&amp;", "&")
    assert merchant_client.get(poll, headers={"HX-Request": "true"}).status_code == 204
    deposit(address, USDC_25, network="base", asset="USDC", confirmations=1)
    changed = merchant_client.get(poll, headers={"HX-Request": "true"})
    assert changed.status_code == 200
    assert "confirming, 1 of 3 confirmations" in _text(changed.content.decode())
    set_confirmations(address.deposits.get(), 3)
    final = merchant_client.get(poll, headers={"HX-Request": "true"}).content.decode()
    assert "Paid in full" in _text(final)
    assert 'id="link-live">' in final  # final: no polling any more


def test_another_merchant_cannot_poll_a_link(client, other_merchant, link):
    client.force_login(other_merchant)
    assert client.get(f"/payments/{link.code}/?v=x", headers={"HX-Request": "true"}).status_code == 404


def test_paid_and_cancelled_pages_lead_with_the_outcome_not_share_buttons(merchant_client, on_base, address, link):
    assert 'id="share-whatsapp"' in _page(merchant_client, on_base)
    deposit(address, USDC_25, network="base", asset="USDC", confirmations=3)
    body = _page(merchant_client, on_base)
    assert 'id="share-whatsapp"' not in body and 'id="qr-download"' not in body and "<svg" not in body
    assert body.index('id="payment"') < body.index('id="details"')
    assert "Open the pay page" in body

    cancelled = link_create(project=link.project, member=link.member, amount=Decimal("5"))
    merchant_client.post(f"/payments/{cancelled.code}/cancel/")
    body = _page(merchant_client, cancelled)
    assert 'id="share-whatsapp"' not in body and "<svg" not in body
    assert "This link can no longer be paid" in body
