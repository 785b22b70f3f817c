"""Fixtures for the fault tests: a proxy in front of the session's anvil, and a payment
link whose deposit address the scanner watches."""

from __future__ import annotations

import pytest

from tests.faults.support import RpcProxy


@pytest.fixture
def proxy(devnet, devnet_rpc):
    """The devnet, reached through an RpcProxy the test can cut, slow or corrupt."""
    node = RpcProxy(devnet.url)
    devnet_rpc(node.url)
    yield node
    node.close()


@pytest.fixture
def pay_link(project, member, evm_address):
    """Factory: a link with a current quote of `amount_due` base units of `asset` on the
    devnet, its deposit address watched. Returns (link, address)."""
    from tests.links.pay_support import make_link, make_quote

    def make(*, asset: str = "ETH", amount_due: int = 10**16):
        link = make_link(project, member)
        address = evm_address()
        link.deposit_addresses.add(address)
        make_quote(link, address, asset=asset, amount_due=amount_due)
        return link, address

    return make
