"""The one adapter protocol every chain family implements. Adapters only read the node
and translate its answers; they never touch the database. Anything malformed raises
NodeError so the scanner records nothing from that answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

# The most an adapter reads of one node answer (decompressed): a broken or hostile node
# must not exhaust the worker's memory. Real answers stay far below: the Bitcoin adapter
# sizes its batches to ~8 MB, an EVM batch of 50 full blocks is tens of MB on busy chains.
NODE_ANSWER_MAX_BYTES = settings.PAYRAM_NODE_ANSWER_MAX_MB * 1024 * 1024
# How long one node request may take (a batch of blocks, a trace) before the scan fails
# and backs off: a slow node needs more, a hung one is noticed after this.
NODE_TIMEOUT_SECONDS = float(settings.PAYRAM_NODE_TIMEOUT_SECONDS)


class NodeError(Exception):
    """The node is unreachable, slow, answered an error, or answered something malformed.
    The message is safe to show (no credentials)."""


class NodeUnreachable(NodeError):
    """The node did not answer at all (connection refused or failed, timed out, HTTP 5xx).
    While a network backs off after these, a cheap liveness probe may end the wait."""


def parent_mismatch(height: int, parent: str, expected: str, *, what: str = "the node") -> NodeError:
    """The error for block `height` naming `parent` where the block below it is `expected`.
    An all-zero parent is a node defect (Hardhat's `hardhat_mine` answers such blocks), not a
    chain that moved: say exactly that, so an operator does not wait for a reorg to settle."""
    if parent.removeprefix("0x").strip("0") == "":
        return NodeError(
            f"{what} answered block {height} with parent hash {parent} instead of block {height - 1}'s hash "
            f"{expected}: a node defect (e.g. blocks mined in bulk with hardhat_mine), not a chain reorganisation; "
            f"nothing from these blocks is recorded until the node serves consistent blocks"
        )
    return NodeError(f"the chain moved while reading block {height} (its parent {parent} is not {expected}); will retry")


@dataclass(frozen=True)
class Transfer:
    """A value movement to `to_address` seen in a block or in the mempool."""

    tx_hash: str
    index: int  # Bitcoin output index (vout); EVM: log index, 0 for the transaction's own value, 1e9 + call position for an internal transfer
    to_address: str  # normalized as DepositAddress.address stores it
    asset: str  # asset symbol on the network
    value: int  # base units
    coinbase: bool = False  # a block reward output: spendable only once mature (Bitcoin: 100 blocks)
    seen_at: int = 0  # unconfirmed: when the node itself first had it (unix seconds; 0 = unknown)


@dataclass(frozen=True)
class Block:
    height: int
    hash: str
    parent_hash: str
    transfers: tuple[Transfer, ...] = field(default=())
    timestamp: int = 0  # the block header's time (unix seconds; 0 = the node gave none)
    median_time: int = 0  # Bitcoin: median time of the past 11 blocks (BIP113); 0 elsewhere


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
