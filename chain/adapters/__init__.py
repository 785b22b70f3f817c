"""Node adapters, one per chain family (see base.py for the protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.catalogue import BITCOIN, EVM, TRON

if TYPE_CHECKING:
    from chain.adapters.base import ChainAdapter
    from chain.catalogue import Network


def adapter_for(network: Network) -> ChainAdapter:
    """The adapter for a network's family, talking to its configured RPC URL. Each family's
    module is imported only when a network of that family is used."""
    if network.kind == BITCOIN:
        from chain.adapters.bitcoin import BitcoinCoreAdapter

        return BitcoinCoreAdapter(network)
    if network.kind == EVM:
        from chain.adapters.evm import EvmAdapter

        return EvmAdapter(network)
    if network.kind == TRON:
        from chain.adapters.tron import TronAdapter

        return TronAdapter(network)
    raise ValueError(f"no adapter for networks of kind {network.kind!r} ({network.slug})")
