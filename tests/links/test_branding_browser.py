"""A branded pay page in headless Chromium: the project's logo, colour and message show,
and on a phone (390×844) the amount, the address and the QR code are on the first screen
even with a devnet quote (warning text and Simulate button) and a full 280-character
message. Set PAY_SCREENSHOTS=/some/dir to keep the screenshots (390 and 1280 px)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from links import checkout
from members import branding
from tests.links.pay_support import make_link, make_shop
from tests.support.browser import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAY_SCREENSHOTS", "")
MESSAGE = ("Thank you for shopping at the Corner Shop! " * 7)[:280].strip()


def _logo_upload():
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 30, 60)).save(out, format="PNG")
    data = out.getvalue()

    class Upload(io.BytesIO):
        size = len(data)

    return Upload(data)


@pytest.fixture
def branded_link(project, member, monkeypatch, settings):
    gen = make_shop(project, monkeypatch, settings, networks=("devnet",))
    shop = next(gen)
    branding.set_branding(project=shop, colour="#1a7f37", message=MESSAGE, logo=branding.clean_logo(_logo_upload()))
    link = make_link(shop, member, amount="25.00", description="Two coffees & a croissant")
    checkout.quote_create(link=link, network="devnet", asset="USDC")
    yield link
    next(gen, None)


def _in_first_screen(page, selector: str, viewport: dict) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
        f"{selector} ends at y={box['y'] + box['height']:.0f}, below the first {viewport['height']} px"
    )
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, f"{selector} overflows sideways"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_branded_pay_page_keeps_amount_address_and_qr_on_the_first_screen(branded_link, live_server, new_context, viewport):
    page = new_context(viewport=viewport).new_page()
    response = page.goto(f"{live_server.url}/pay/{branded_link.code}/")
    assert response.status == 200
    page.locator("#pay-address").wait_for()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/branded-pay-{viewport['width']}.png")
        page.screenshot(path=f"{SHOTS}/branded-pay-{viewport['width']}-full.png", full_page=True)
    first_screen = ("#pay-amount", "#pay-address", ".qr-box svg") if viewport == PHONE else ("#pay-amount", "#pay-address")
    for selector in first_screen:
        _in_first_screen(page, selector, viewport)
    assert page.locator("button:has-text('Simulate payment')").count() == 1  # still offered, lower down
    logo = page.locator("#brand-logo")
    assert logo.is_visible()
    assert page.evaluate("document.querySelector('#brand-logo').naturalWidth") > 0  # the served PNG decoded
    assert page.locator("#brand-message").inner_text() == MESSAGE
    # The brand colour reached the page through the per-project stylesheet, CSP intact.
    border = page.evaluate("getComputedStyle(document.querySelector('.summary')).borderTopColor")
    assert border == "rgb(26, 127, 55)"


def test_the_owner_uploads_a_logo_and_the_customer_sees_it(logged_in_page, live_server, new_context, project, member, tmp_path):
    logo = tmp_path / "logo.jpg"
    Image.new("RGB", (400, 120), (250, 200, 20)).save(logo, format="JPEG")
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    owner = logged_in_page
    owner.goto(f"{live_server.url}/members/projects/")
    owner.click(f"a[href='/members/projects/{project.pk}/branding/']")
    # An SVG is refused with the reason, and a colour nothing reads on too; nothing is saved.
    owner.set_input_files("#id_logo", str(svg))
    owner.fill("#id_brand_colour", "#808080")
    owner.click("button:has-text('Save')")
    owner.get_by_text("SVG logos are not accepted").wait_for()
    owner.get_by_text("hard to read").wait_for()
    owner.set_input_files("#id_logo", str(logo))
    owner.fill("#id_brand_colour", "#ffd60a")
    owner.fill("#id_brand_message", "Questions? help@corner.example")
    owner.click("button:has-text('Save')")
    owner.get_by_text("is saved").wait_for()
    assert (
        owner.locator("#current-logo").evaluate("img => img.naturalWidth") == 400
    )  # re-encoded at its own size: it fits 480×160
    if SHOTS:
        owner.screenshot(path=f"{SHOTS}/branding-settings-1280.png", full_page=True)

    link = make_link(project, member, amount="12.00")
    customer = new_context(viewport=PHONE).new_page()
    customer.goto(f"{live_server.url}/pay/{link.code}/")
    assert customer.locator("#brand-logo").evaluate("img => img.naturalWidth") == 400
    assert customer.locator("#brand-message").inner_text() == "Questions? help@corner.example"
    if SHOTS:
        customer.screenshot(path=f"{SHOTS}/branded-picker-390.png", full_page=True)
