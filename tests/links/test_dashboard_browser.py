"""The merchant's whole journey in a real browser: sign in, add a member in the pop-up,
generate a link, share it, the customer opens it, the merchant cancels it, and All
Payments, its filters and CSV export say Cancelled."""

import csv
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from members.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_share_cancel_journey(logged_in_page, live_server, new_context, project, member, settings, tmp_path):
    settings.PAYRAM_BASE_URL = live_server.url
    page = logged_in_page

    # Payments → Create Payment Link, from the menu.
    page.click("summary:has-text('Payments')")
    page.click("text=Create Payment Link")
    page.wait_for_url(re.compile(r"/payments/new/$"))

    # The member field searches the project's members as you type.
    page.fill("#id_member", "ali")
    page.wait_for_selector("#member-results >> text=alice@example.com")
    page.fill("#id_member", "newbie")
    page.wait_for_selector("#member-results >> text=No member of Corner Shop matches")

    # "Add New Member" opens a pop-up; saving selects the member without a reload.
    page.evaluate("window.__noReload = true")
    page.click("#member-results >> text=Add New Member")
    dialog = page.locator("dialog#modal")
    dialog.wait_for(state="visible")
    assert dialog.locator("#new_member_email").input_value() == "newbie"
    # The pop-up's project select has an id of its own: each label points at its own control.
    assert page.locator("#id_project").count() == 1
    assert dialog.locator("label[for=new_member_project]").count() == 1 and dialog.locator("#new_member_project").is_visible()
    dialog.locator("#new_member_email").fill("not-an-email")
    dialog.locator("button:has-text('Add member')").click()
    dialog.locator("text=Enter a valid email address.").wait_for()
    dialog.locator("#new_member_email").fill("Newbie@Example.com")
    dialog.locator("#new_member_name").fill("<b>New</b> Customer")
    dialog.locator("button:has-text('Add member')").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#id_member") == "newbie@example.com"
    assert page.locator("#member-results").inner_text().startswith("Selected: <b>New</b> Customer")
    assert page.evaluate("window.__noReload") is True
    assert Member.objects.get(email="newbie@example.com").project == project

    # Bad input is refused at the field, then the link is generated.
    page.fill("#id_amount", "12.345")
    page.fill("#id_description", "Guitar lessons & strings")
    page.click("button:has-text('Generate Payment Link')")
    page.locator("text=Use at most 2 decimal places.").wait_for()
    assert not PaymentLink.objects.exists()
    page.fill("#id_amount", "42.50")
    page.click("button:has-text('Generate Payment Link')")
    page.wait_for_url(re.compile(r"/payments/[A-Za-z0-9_-]{20,}/$"))
    link = PaymentLink.objects.get()
    assert link.member.email == "newbie@example.com"

    # The link page: public URL, QR, share links.
    public = f"{live_server.url}/pay/{link.code}/"
    assert page.input_value("#public-url") == public
    assert page.locator("#qr svg").is_visible()
    assert page.get_attribute("#share-whatsapp", "href").startswith("https://wa.me/?text=")
    assert page.get_attribute("#share-telegram", "href").startswith("https://t.me/share/url?url=")
    assert page.get_attribute("#share-sms", "href").startswith("sms:?&body=")
    assert page.get_attribute("#share-email", "href").startswith(
        "mailto:newbie@example.com?subject="
    )  # the member's address filled in
    assert "%2442.50" in page.get_attribute("#share-whatsapp", "href")
    with page.expect_download() as download:
        page.click("#qr-download")
    png = Path(tmp_path / "qr.png")
    download.value.save_as(png)
    assert png.read_bytes().startswith(b"\x89PNG")

    # The customer opens the link in a separate, signed-out browser.
    customer = new_context().new_page()
    response = customer.goto(public)
    assert response.status == 200
    customer.locator("text=Corner Shop").first.wait_for()
    assert "42.50" in customer.content()

    # The merchant cancels it, after confirming.
    page.click("#cancel-link")
    dialog.wait_for(state="visible")
    dialog.locator("text=Cancel this payment link?").wait_for()
    dialog.locator("button:has-text('Yes, cancel the link')").click()
    page.locator("text=Payment link cancelled").wait_for()
    link.refresh_from_db()
    assert link.status == LinkStatus.CANCELLED

    # The customer's page now says so.
    customer.reload()
    customer.get_by_text(re.compile("cancelled", re.I)).first.wait_for()

    # All Payments lists it as Cancelled; filtering and the CSV export show it.
    page.click("summary:has-text('Payments')")
    page.click("text=All Payments")
    row = page.locator("#payments tbody tr", has_text="newbie@example.com")
    assert "Cancelled" in row.inner_text()
    page.select_option("#filter-status", "pending")
    page.click("button:has-text('Filter')")
    page.locator("text=No payment link matches these filters").wait_for()
    page.select_option("#filter-status", "cancelled")
    page.fill("#filter-q", "guitar")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"status=cancelled"))
    assert page.locator("#payments tbody tr").count() == 1
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = tmp_path / "payments.csv"
    download.value.save_as(exported)
    rows = list(csv.reader(exported.open(encoding="utf-8")))
    assert len(rows) == 2
    assert rows[1][1] == link.code and rows[1][3] == "newbie@example.com" and rows[1][8] == "Cancelled"


def test_login_is_required_and_wrong_password_is_refused(page, live_server, merchant):
    page.goto(f"{live_server.url}/payments/")
    page.wait_for_url(re.compile(r"/login/\?next=/payments/"))
    page.fill("#id_username", merchant.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.locator("text=Please enter a correct username and password").wait_for()


def test_phone_width_dashboard_has_no_sideways_scroll(new_context, live_server, merchant, password, project, member):
    from tests.support.browser import PHONE, log_in

    phone = new_context(viewport=PHONE).new_page()
    log_in(phone, live_server.url, merchant.username, password)
    for path in ["/payments/", "/payments/new/", "/members/", "/members/projects/"]:
        phone.goto(live_server.url + path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path


# --- Every dashboard page at phone and desktop width --------------------------------------

SHOTS = os.environ.get("PAYRAM_SHOTS", "")  # a directory: save a full-page PNG of every view


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def paid_and_underpaid(project, member, monkeypatch):
    """A few links in several states, paid the way the scanner records it: a USDC link on
    Base paid in two transactions (one of them dropped by a reorg, then re-sent), a
    Bitcoin link underpaid, an overpaid one, a cancelled one and an untouched one."""
    from chain import catalogue, wallets
    from links.services import link_cancel
    from tests.chain.test_hd import EVM_XPUB, ZPUB
    from tests.links.pay_support import deposit, make_link, make_quote, mark_scanned

    monkeypatch.setenv("PAYRAM_RPC_BASE", "https://base.example.net/v2/secret-key")
    monkeypatch.setenv("PAYRAM_RPC_DEVNET", "http://127.0.0.1:9")
    catalogue.reload()
    mark_scanned("devnet")
    from chain.models import Cursor

    Cursor.objects.update_or_create(
        network="base",
        defaults={
            "height": 23_000_000,
            "node_head": 23_000_450,
            "last_error": "ConnectionError: node timed out after 10s",
            "consecutive_failures": 7,
            "last_success_at": timezone.now() - timedelta(hours=2),
            "last_error_at": timezone.now() - timedelta(minutes=1),
        },
    )
    project.confirmation_overrides = {"base": 3}
    project.save(update_fields=["confirmation_overrides"])
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB)

    def quoted(amount: str, description: str, family: str, network: str, asset: str, due: int, rate: str):
        link = make_link(project, member, amount=amount, description=description)
        address = wallets.address_allocate(project=project, family=family)
        link.deposit_addresses.add(address)
        make_quote(link, address, network=network, asset=asset, amount_due=due, rate=rate)
        return link, address

    make_link(project, member, amount="5.00", description="Not opened yet")
    cancelled = make_link(project, member, amount="12.00", description="Wrong size")
    link_cancel(link=cancelled)
    over, over_address = quoted("40.00", "Concert ticket", "evm", "base", "USDC", 40_000_000, "1")
    deposit(over_address, 40_500_000, network="base", asset="USDC", confirmations=25, tx_hash="0x" + "5e" * 32)
    under, under_address = quoted("120.00", "Bike repair", "bitcoin", "bitcoin", "BTC", 200_000, "60000")
    deposit(under_address, 150_000, network="bitcoin", asset="BTC", confirmations=1, tx_hash="9f" * 32)
    paid, paid_address = quoted("25.50", "Two coffees & cake", "evm", "base", "USDC", 25_500_000, "1")
    deposit(paid_address, 10_000_000, network="base", asset="USDC", confirmations=0, orphaned=True, tx_hash="0x" + "0d" * 32)
    deposit(paid_address, 10_000_000, network="base", asset="USDC", confirmations=9, tx_hash="0x" + "a1" * 32)
    deposit(paid_address, 15_500_000, network="base", asset="USDC", confirmations=4, tx_hash="0x" + "b2" * 32)
    deposit(paid_address, 2 * 10**15, network="base", asset="ETH", confirmations=4, tx_hash="0x" + "c3" * 32)
    yield {"paid": paid, "underpaid": under, "overpaid": over}
    monkeypatch.undo()
    catalogue.reload()


def test_every_dashboard_page_reads_well_on_a_phone_and_a_desktop(
    new_context, live_server, merchant, password, paid_and_underpaid
):
    from tests.support.browser import DESKTOP, PHONE, log_in

    paid, underpaid = paid_and_underpaid["paid"], paid_and_underpaid["underpaid"]
    pages = [
        ("all-payments", "/payments/"),
        ("link-paid", f"/payments/{paid.code}/"),
        ("link-underpaid", f"/payments/{underpaid.code}/"),
        ("members", "/members/"),
        ("projects", "/members/projects/"),
        ("wallets", "/chain/wallets/"),
        ("health", "/chain/health/"),
    ]
    for width, viewport in (("390", PHONE), ("1280", DESKTOP)):
        page = new_context(viewport=viewport).new_page()
        page.goto(f"{live_server.url}/login/")
        _shot(page, f"{width}-login")
        log_in(page, live_server.url, merchant.username, password)
        for name, path in pages:
            page.goto(live_server.url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (width, path)
            topbar = page.locator(".topbar").bounding_box()
            assert topbar["height"] < 64, (width, path)  # the menu is one line, never wrapped
            _shot(page, f"{width}-{name}")

        # Create Payment Link with the Add New Member pop-up open.
        page.goto(f"{live_server.url}/payments/new/")
        page.fill("#id_member", "newbie")
        page.wait_for_selector("#member-results >> text=No member of Corner Shop matches")
        page.click("#member-results >> text=Add New Member")
        page.locator("dialog#modal").wait_for(state="visible")
        assert page.locator("dialog#modal #new_member_email").input_value() == "newbie"
        _shot(page, f"{width}-create-add-member")

        nav = page.locator("#mainnav >> text=Network health")
        if viewport is PHONE:
            page.keyboard.press("Escape")
            page.goto(f"{live_server.url}/payments/")
            assert not nav.is_visible()  # folded behind the Menu toggle
            page.click("text=Menu")
            nav.wait_for(state="visible")
            assert page.locator("text=Sign out").is_visible()
            _shot(page, f"{width}-menu-open")
            nav.click()
            page.wait_for_url(re.compile(r"/chain/health/$"))
        else:
            assert nav.is_visible() and not page.locator("text=Menu").is_visible()

    # What the merchant reads matches the chain, to the unit.
    page.goto(f"{live_server.url}/payments/{paid.code}/")
    summary = page.locator("#payment-summary").inner_text()
    assert "Paid in full: 25.5 USDC on Base." in summary
    rows = page.locator("#transactions tbody tr")
    assert rows.count() == 4
    assert "Orphaned" in rows.nth(3).inner_text() and "Not counted" in rows.nth(0).inner_text()
    assert "0.002 ETH" in rows.nth(0).inner_text() and "4 of 3" not in rows.nth(0).inner_text()
    page.goto(f"{live_server.url}/payments/{underpaid.code}/")
    summary = page.locator("#payment-summary").inner_text()
    assert "received 0.0015 BTC of 0.002 BTC, 0.0005 BTC remaining" in summary
