"""The merchant's whole journey in a real browser: sign in, add a member in the pop-up,
generate a link, share it, the customer opens it, the merchant cancels it, and All
Payments, its filters and CSV export say Cancelled."""

import csv
import re
from pathlib import Path

import pytest

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
    assert dialog.locator("#id_email").input_value() == "newbie"
    dialog.locator("#id_email").fill("not-an-email")
    dialog.locator("button:has-text('Add member')").click()
    dialog.locator("text=Enter a valid email address.").wait_for()
    dialog.locator("#id_email").fill("Newbie@Example.com")
    dialog.locator("#id_name").fill("<b>New</b> Customer")
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
    assert page.get_attribute("#share-email", "href").startswith("mailto:?subject=")
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
