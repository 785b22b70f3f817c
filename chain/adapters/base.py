"""The one adapter protocol every chain family implements. Adapters only read the node
and translate its answers; they never touch the database. Anything malformed raises
NodeError so the scanner records nothing from that answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from payram.lib.env import envint

# The most an adapter reads of one node answer (decompressed): a broken or hostile node
# must not exhaust the worker's memory. Real answers stay far below: the Bitcoin adapter
# sizes its batches to ~8 MB, an EVM batch of 50 full blocks is tens of MB on busy chains.
NODE_ANSWER_MAX_BYTES = envint("PAYRAM_NODE_ANSWER_MAX_MB", 256, minimum=1) * 1024 * 1024


class NodeError(Exception):
    """The node is unreachable, slow, answered an error, or answered something malformed.
    The message is safe to show (no credentials)."""


@dataclass(frozen=True)
class Transfer:
    """A value movement to `to_address` seen in a block or in the mempool."""

    tx_hash: str
    index: int  # Bitcoin output index (vout); EVM: log index, 0 for the transaction's own value, 1e9 + call position for an internal transfer
    to_address: str  # normalized as DepositAddress.address stores it
    asset: str  # asset symbol on the network
    value: int  # base units


@dataclass(frozen=True)
class Block:
    height: int
    hash: str
    parent_hash: str
    transfers: tuple[Transfer, ...] = field(default=())


class ChainAdapter(Protocol):
    def head(self) -> int:
        """Height of the node's best block."""

    def block_hash(self, height: int) -> str:
        """Hash of the block at `height` on the node's best chain."""

    def blocks(self, start: int, end: int) -> list[Block]:
        """Blocks start..end inclusive, in order, each with every transfer of the network's
        assets it holds (matching against our addresses is the scanner's job)."""

    def mempool(self) -> list[Transfer]:
        """Unconfirmed transfers (empty where the family has no useful mempool view)."""
