"""Payment URIs wallets read from the QR code and "Open in wallet": exact strings, and
amounts that never lose a unit."""

from __future__ import annotations

from decimal import Decimal

from chain import catalogue
from links.uris import bip21, eip681_native, eip681_token, payment_uri
from payram.lib.money import fiat_to_base_units, to_base_units

ADDR = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
BTC_ADDR = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


def test_bip21_amount_is_a_plain_decimal_without_trailing_zeros():
    assert bip21(BTC_ADDR, 150_000) == f"bitcoin:{BTC_ADDR}?amount=0.0015"
    assert bip21(BTC_ADDR, 100_000_000) == f"bitcoin:{BTC_ADDR}?amount=1"
    assert bip21(BTC_ADDR, 1) == f"bitcoin:{BTC_ADDR}?amount=0.00000001"  # never 1E-8
    assert bip21(BTC_ADDR, 2_100_000_000_000_000) == f"bitcoin:{BTC_ADDR}?amount=21000000"


def test_eip681_native_value_is_wei_with_chain_id():
    assert eip681_native(ADDR, 1, 10**18) == f"ethereum:{ADDR}@1?value=1000000000000000000"


def test_eip681_token_transfer():
    usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    assert eip681_token(usdc, 8453, ADDR, 25_000_000) == f"ethereum:{usdc}@8453/transfer?address={ADDR}&uint256=25000000"


def test_payment_uri_picks_the_scheme_from_the_network():
    base = catalogue.get("base")
    assert payment_uri(base, base.asset("ETH"), ADDR, 5) == f"ethereum:{ADDR}@8453?value=5"
    assert payment_uri(base, base.asset("USDC"), ADDR, 7) == (
        f"ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address={ADDR}&uint256=7"
    )
    btc = catalogue.get("bitcoin")
    assert payment_uri(btc, btc.native, BTC_ADDR, 12_345) == f"bitcoin:{BTC_ADDR}?amount=0.00012345"
    devnet = catalogue.get("devnet")
    assert payment_uri(devnet, devnet.asset("USDC"), ADDR, 1).startswith(
        "ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337/transfer?"
    )


def test_tenths_of_a_token_add_up_exactly():
    # 0.1 + 0.2 of a 6-decimal token is exactly 0.3 of it, in units and in the URI.
    units = to_base_units(Decimal("0.1"), 6) + to_base_units(Decimal("0.2"), 6)
    assert units == 300_000 == to_base_units(Decimal("0.3"), 6)
    assert eip681_token("0x5FbDB2315678afecb367f032d93F642f64180aa3", 31337, ADDR, units).endswith("&uint256=300000")


def test_18_decimal_values_above_2_to_the_64_keep_every_wei():
    wei = 2**64 + 123_456_789  # 18.446744073833... ETH
    assert eip681_native(ADDR, 1, wei) == f"ethereum:{ADDR}@1?value=18446744073833008405"
    wei = to_base_units(Decimal("123456.123456789012345678"), 18)
    assert wei == 123456123456789012345678
    assert eip681_native(ADDR, 1, wei).endswith("?value=123456123456789012345678")


def test_quoted_amounts_round_up_so_paying_the_shown_amount_is_never_short():
    # $100 at 3000 USD/ETH is 0.0333… ETH: rounded up to the last wei, not down.
    wei = fiat_to_base_units(Decimal("100"), Decimal("3000"), 18)
    assert wei == 33_333_333_333_333_334
    assert Decimal(wei) * Decimal(3000) / Decimal(10**18) >= Decimal(100)
