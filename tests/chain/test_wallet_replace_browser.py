"""Replacing a used wallet key in a real browser, at desktop and phone width: paste the
new key, compare its first addresses, confirm, and see the old key listed as retired.
Set PAYRAM_SHOTS=/some/dir to keep full-page screenshots of each step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chain import wallets
from chain.models import Wallet
from tests.chain.test_hd import EVM_XPUB
from tests.chain.test_wallet_replace import EVM_XPUB_1, EVM_XPUB_1_ADDRESSES
from tests.support.browser import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAYRAM_SHOTS", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, "1280"), (PHONE, "390")])
def test_replace_a_used_key_in_the_browser(new_context, live_server, merchant, password, project, viewport, width):
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    for _ in range(3):
        wallets.address_allocate(project=project, family="evm")
    page = new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, merchant.username, password)
    page.goto(f"{live_server.url}/chain/wallets/?project={project.pk}")
    card = page.locator(f"#wallet-{project.pk}-evm")

    card.locator("summary:has-text('Replace key')").click()
    card.locator("input[name=xpub]").fill(EVM_XPUB_1)
    card.locator("button:has-text('Review replacement')").click()
    card = page.locator(f"#wallet-{project.pk}-evm")
    card.locator("text=Replace this key?").wait_for()
    for address in EVM_XPUB_1_ADDRESSES:
        assert card.locator(f"text={address}").is_visible()
    assert card.locator("text=Open quotes keep their old addresses.").is_visible()
    assert Wallet.objects.filter(project=project).count() == 1  # nothing changed before confirming
    _no_sideways_scroll(page)
    card.scroll_into_view_if_needed()
    _shot(page, f"wallet-replace-confirm-{width}")

    card.locator("button:has-text('Replace key')").click()
    page.locator("text=key replaced for Corner Shop").wait_for()
    card = page.locator(f"#wallet-{project.pk}-evm")
    assert card.locator(f"text={EVM_XPUB_1_ADDRESSES[0]}").is_visible()
    assert card.locator("text=3 addresses (#0–#2)").is_visible()
    _no_sideways_scroll(page)
    _shot(page, f"wallet-after-replace-{width}")
    assert Wallet.objects.active().get(project=project, family="evm").xpub == EVM_XPUB_1
