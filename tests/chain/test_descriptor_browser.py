"""Pasting an output descriptor on the Wallets page in a real browser, at desktop and
phone width: the Taproot addresses it names are shown, and nothing scrolls sideways.
Set PAYRAM_SHOTS=/some/dir to keep full-page screenshots."""

from __future__ import annotations

import pytest

from chain.models import Wallet
from tests.chain.test_descriptors import BIP86_ACCOUNT_XPUB, BIP86_RECEIVE, FINGERPRINT, with_checksum
from tests.chain.test_wallet_replace_browser import _no_sideways_scroll, _shot
from tests.support.browser import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, "1280"), (PHONE, "390")])
def test_paste_a_taproot_descriptor_in_the_browser(new_context, live_server, merchant, password, project, viewport, width):
    page = new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, merchant.username, password)
    page.goto(f"{live_server.url}/chain/wallets/?project={project.pk}")
    card = page.locator(f"#wallet-{project.pk}-bitcoin")
    card.scroll_into_view_if_needed()
    _no_sideways_scroll(page)
    _shot(page, f"wallet-descriptor-form-{width}")

    card.locator("input[name=xpub]").fill(with_checksum(f"tr([{FINGERPRINT}/86h/0h/0h]{BIP86_ACCOUNT_XPUB}/0/*)"))
    card.locator("button:has-text('Save key')").click()
    card = page.locator(f"#wallet-{project.pk}-bitcoin")
    card.locator(f"text={BIP86_RECEIVE[0][2]}").wait_for()
    assert card.locator("text=Taproot (BIP86)").first.is_visible()
    assert Wallet.objects.get(project=project, family="bitcoin").script_type == "p2tr"
    _no_sideways_scroll(page)
    card.scroll_into_view_if_needed()
    _shot(page, f"wallet-descriptor-saved-{width}")
