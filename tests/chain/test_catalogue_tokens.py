"""Built-in tokens are only those their issuer publishes for the network (USDC: Circle's
list; USDT: Tether's). A bridged token, which a bridge mints against tokens locked
elsewhere and the issuer does not redeem, is never built in and priced 1:1 as "Tether
USD"; a merchant who wants one adds it in the chains file as `bridged = true`, and the
pay page says "(bridged)"."""

from __future__ import annotations

import pytest

from chain import catalogue
from links.models import PaymentLink
from tests.links.pay_support import make_link
from tests.links.test_checkout import shop  # noqa: F401 - fixture

# The issuers' own lists, by network: Circle "USDC contract addresses"
# (developers.circle.com/stablecoins/usdc-contract-addresses), Tether "Supported Protocols"
# (tether.to/en/supported-protocols: its EVM chains are Ethereum, Avalanche, Celo, Kava;
# and Tron's TRC-20).
ISSUER_PUBLISHED = {
    ("ethereum", "USDC"): "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    ("ethereum", "USDT"): "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    ("base", "USDC"): "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    ("polygon", "USDC"): "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
    ("arbitrum", "USDC"): "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    ("sepolia", "USDC"): "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238",
    ("base-sepolia", "USDC"): "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    ("tron", "USDT"): "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",  # Tether: "TRC20 via Tron"
}
# Bridge-minted, not Tether's: Base (0xfde4…), Arbitrum One (0xFd08…), Polygon PoS (0xc213…).
BRIDGED = {
    "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2",
    "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
}


def test_every_built_in_token_is_one_its_issuer_publishes_for_that_network():
    built_in = {
        (net.slug, token.symbol): token.contract
        for net in catalogue.BUILTIN
        if net.slug != "devnet"  # our own test token on our own devnet
        for token in net.tokens
    }
    assert built_in == ISSUER_PUBLISHED
    assert not BRIDGED & {t.contract for n in catalogue.BUILTIN for t in n.tokens}
    assert not any(t.bridged for n in catalogue.BUILTIN for t in n.tokens)


def chains_file(tmp_path, settings, text: str) -> None:
    path = tmp_path / "chains.toml"
    path.write_text(text)
    settings.PAYRAM_CHAINS_FILE = str(path)
    catalogue.reload()


BRIDGED_USDT_ON_DEVNET = """
[[token]]
network = "devnet"
symbol = "USDT"
name = "Bridged Tether USD"
decimals = 6
contract = "0x1111111111111111111111111111111111111111"
stable_usd = true
bridged = true
"""


def test_a_chains_file_token_can_be_marked_bridged(tmp_path, settings):
    try:
        chains_file(tmp_path, settings, BRIDGED_USDT_ON_DEVNET.replace('"devnet"', '"base"'))
        usdt = catalogue.get("base").asset("USDT")
        assert (usdt.contract, usdt.bridged, usdt.label) == ("0x1111111111111111111111111111111111111111", True, "USDT (bridged)")
        assert catalogue.get("base").asset("USDC").label == "USDC"
        chains_file(tmp_path, settings, BRIDGED_USDT_ON_DEVNET.replace("bridged = true", 'bridged = "yes"'))
        assert "bridged must be true or false, not 'yes'" in catalogue.config_errors()["*"]
    finally:
        settings.PAYRAM_CHAINS_FILE = ""
        catalogue.reload()


@pytest.mark.django_db
def test_the_pay_page_labels_a_bridged_token(client, shop, member, tmp_path, settings):  # noqa: F811
    try:
        chains_file(tmp_path, settings, BRIDGED_USDT_ON_DEVNET)
        link: PaymentLink = make_link(shop, member, amount="25.00")
        page = client.get(f"/pay/{link.code}/").content.decode()
        assert '<span class="coin">USDT (bridged)</span>' in page
        assert '<span class="coin">USDC</span>' in page
        payment = client.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDT"}, follow=True).content.decode()
        assert "Send <strong>USDT (bridged)</strong> on the" in payment
    finally:
        settings.PAYRAM_CHAINS_FILE = ""
        catalogue.reload()
