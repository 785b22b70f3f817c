"""Node adapters, one per chain family (see base.py for the protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chain.adapters import bitcoin, evm, tron
from chain.catalogue import BITCOIN, EVM, TRON

if TYPE_CHECKING:
    from chain.adapters.base import ChainAdapter
    from chain.catalogue import Network


def adapter_for(network: Network) -> ChainAdapter:
    """The adapter for a network's family, talking to its configured RPC URL."""
    if network.kind == BITCOIN:
        return bitcoin.BitcoinCoreAdapter(network)
    if network.kind == EVM:
        return evm.EvmAdapter(network)
    if network.kind == TRON:
        return tron.TronAdapter(network)
    raise ValueError(f"no adapter for networks of kind {network.kind!r} ({network.slug})")
