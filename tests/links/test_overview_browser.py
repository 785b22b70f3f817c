"""In a real browser at phone (390 px) and desktop (1280 px) width: the merchant reads the
Overview after payments, filters All Payments by date and sees its totals, copies the
email button from the Embed panel, and the pasted snippet renders as a working button on
a page of its own. Set PAYRAM_SHOTS=/some/dir to keep a full-page PNG of each step."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.links.test_overview import USDC, made, pay
from tests.support.browser import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAYRAM_SHOTS", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_overview_date_filter_and_email_button(
    viewport, new_context, live_server, merchant, password, project, member, evm_address, settings
):
    settings.PAYRAM_BASE_URL = live_server.url
    now = timezone.localtime()
    today = now - timedelta(minutes=5)
    long_ago = now - timedelta(days=40)
    paid_today = pay(evm_address, made(project, member, "12.00", created=today), 12 * USDC, when=today)
    pay(evm_address, made(project, member, "30.00", created=long_ago), 30 * USDC, when=long_ago)
    pay(
        evm_address,
        made(project, member, "8.00", created=today, description="Strings"),
        3 * USDC,
        due=8 * USDC,
        when=today,
    )
    open_link = made(project, member, "42.50", created=today, description="Guitar lessons")

    context = new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    log_in(page, live_server.url, merchant.username, password)
    width = viewport["width"]

    # Signing in lands on the Overview.
    page.wait_for_selector("h1:has-text('Overview')")
    received = page.locator(f"#received-{project.pk}")
    assert received.locator("tr.fiat-row td").first.text_content() == "$12.00"  # today
    assert received.locator("tr.coin-row th").text_content() == "USDC on Base"
    assert page.locator("#count-successful .count").inner_text() == "2"
    assert page.locator("#attention-underpaid strong").inner_text() == "1"
    assert page.locator("#attention .attention-list li").count() == 1
    bars = page.locator("svg.chart rect.bar")
    assert bars.count() == 1 and bars.first.bounding_box()["height"] > 30  # today's $12 bar, drawn
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    _shot(page, f"overview-{width}")

    # All Payments, filtered to this week: the old payment drops out of the list and the totals.
    page.goto(live_server.url + "/payments/")
    assert page.locator("#payments tbody tr").count() == 4 and page.locator("#totals").count() == 0
    page.fill("#filter-from", (now - timedelta(days=7)).strftime("%Y-%m-%d"))
    page.fill("#filter-to", now.strftime("%Y-%m-%d"))
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d"))
    assert page.locator("#payments tbody tr").count() == 3
    assert page.locator("#totals-links").inner_text() == "3"
    assert page.locator("#totals-received").inner_text() == "$12.00"
    assert page.locator("#totals-asked").inner_text() == "$62.50"
    assert page.locator("#totals-coins").inner_text() == "12 USDC on Base"
    assert page.input_value("#filter-from") == (now - timedelta(days=7)).strftime("%Y-%m-%d")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    _shot(page, f"all-payments-dated-{width}")

    # The Embed panel: copy the email button.
    page.goto(f"{live_server.url}/payments/{open_link.code}/")
    page.locator("#embed").scroll_into_view_if_needed()
    _shot(page, f"embed-panel-{width}")
    page.click("#copy-embed-html")
    page.wait_for_selector("#copy-embed-html:has-text('Copied')")
    snippet = page.evaluate("navigator.clipboard.readText()")
    assert snippet.startswith("<table") and "<script" not in snippet
    assert paid_today.code not in snippet

    # Pasted into an email (a page with the strictest CSP: no script, no stylesheet of ours).
    mail = context.new_page()
    mail.set_content(
        '<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
        "</head><body><p>Hello Alice, here is your invoice for the lessons.</p>" + snippet + "<p>Thanks!</p></body></html>"
    )
    button = mail.locator("a", has_text="Pay $42.50 with crypto")
    assert button.is_visible()
    box = button.bounding_box()
    assert box["width"] > 150 and box["height"] >= 40  # padded, not a bare text link
    colours = button.evaluate("a => [getComputedStyle(a).backgroundColor, getComputedStyle(a).color]")
    assert colours == ["rgb(59, 91, 219)", "rgb(255, 255, 255)"]
    assert button.get_attribute("href") == f"{live_server.url}/pay/{open_link.code}/"
    _shot(mail, f"email-button-{width}")
    with mail.context.expect_page() as opened:
        button.click()  # target=_blank: the pay page opens in a new tab
    customer = opened.value
    customer.wait_for_selector("text=$42.50")
    assert "Corner Shop" in customer.inner_text(".summary")
