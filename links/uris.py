"""Payment URIs that wallets understand, for the QR code and "Open in wallet".

BIP21:   bitcoin:<address>?amount=<BTC as a plain decimal>
EIP-681: ethereum:<address>@<chainId>?value=<wei>                                   (native coin)
         ethereum:<token>@<chainId>/transfer?address=<address>&uint256=<units>     (ERC-20)
Tron:    the plain T… address. Tron has no payment URI standard: TronLink opens transfers
         only through its whitelisted deep links, TokenPocket's receive QR is the bare
         address (help.tokenpocket.pro, "QRCode Protocol"), and a `tron:` URI with an
         amount is one processor's convention that wallets do not share. So the QR holds
         what every Tron wallet reads, and the pay page asks the customer to type the amount.

Amounts come in as integer base units and leave as exact integers (EIP-681) or an exact
plain decimal (BIP21): never a float, never an exponent, so no wallet rounds away a unit.
"""

from __future__ import annotations

from chain.catalogue import BITCOIN, EVM, TRON, Asset, Network
from payram.lib.money import format_units

BTC_DECIMALS = 8


def bip21(address: str, amount_sats: int) -> str:
    return f"bitcoin:{address}?amount={format_units(int(amount_sats), BTC_DECIMALS)}"


def eip681_native(address: str, chain_id: int, wei: int) -> str:
    return f"ethereum:{address}@{int(chain_id)}?value={int(wei)}"


def eip681_token(token: str, chain_id: int, address: str, units: int) -> str:
    return f"ethereum:{token}@{int(chain_id)}/transfer?address={address}&uint256={int(units)}"


def payment_uri(network: Network, asset: Asset, address: str, amount: int) -> str:
    """The URI for paying `amount` base units of `asset` on `network` to `address`."""
    if network.kind == BITCOIN:
        return bip21(address, amount)
    if network.kind == EVM:
        if network.chain_id is None:
            raise ValueError(f"{network.name} has no chain id")
        if asset.is_native:
            return eip681_native(address, network.chain_id, amount)
        return eip681_token(asset.contract, network.chain_id, address, amount)
    if network.kind == TRON:
        return address
    raise ValueError(f"no payment URI scheme for {network.kind} networks")


def uri_carries_amount(network: Network) -> bool:
    """Whether payment_uri's QR fills in the amount in the customer's wallet."""
    return network.kind != TRON
