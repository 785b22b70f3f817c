"""Scan throughput (payram's scan_network vs a raw JSON-RPC loop over the same blocks)
and matching (100,000 watched addresses vs 10)."""

from __future__ import annotations

import json
import statistics
import time

import requests

from bench.env import Node


def reset_cursor(node: Node, first: int) -> None:
    """Forget every deposit and put the devnet cursor just below `first`, so the next
    scan reads first..head again from scratch."""
    from chain.models import Cursor, Deposit, ScannedBlock

    below = first - 1
    below_hash = node.block_hash(below)
    Deposit.objects.all().delete()
    ScannedBlock.objects.filter(network="devnet").delete()
    Cursor.objects.update_or_create(
        network="devnet", defaults={"height": below, "block_hash": below_hash, "lock_owner": "", "locked_until": None}
    )
    ScannedBlock.objects.create(network="devnet", height=below, block_hash=below_hash, parent_hash="")


def payram_rate(node: Node, first: int, last: int) -> tuple[float, int]:
    """Blocks per second of scan_network over first..last (the node's head); and the deposits it recorded."""
    from chain.adapters.base import NodeError
    from chain.scanner import scan_network

    for attempt in range(3):
        reset_cursor(node, first)
        started = time.perf_counter()
        try:
            result = scan_network("devnet", max_blocks=last - first + 1)
        except NodeError as exc:  # the node timed out (a loaded machine): retried, as the scan task would be
            print(f"  (scan round retried: {exc})", flush=True)
            if attempt == 2:
                raise
            continue
        break
    elapsed = time.perf_counter() - started
    if not result.ok or result.height != last or result.blocks != last - first + 1:
        raise RuntimeError(f"scan did not cover {first}-{last}: {result}")
    return result.blocks / elapsed, result.new_deposits


def raw_rate(node: Node, first: int, last: int) -> float:
    """Blocks per second of the least a scanner must do: the same batched JSON-RPC requests
    (full blocks and the token's Transfer logs, BATCH_BLOCKS per request), decoded, no DB."""
    from chain.adapters.evm import TRANSFER_TOPIC
    from chain.catalogue import DEVNET_TOKEN_ADDRESS
    from chain.scanner import BATCH_BLOCKS

    session = requests.Session()
    started = time.perf_counter()
    ident = 0
    for start in range(first, last + 1, BATCH_BLOCKS):
        end = min(last, start + BATCH_BLOCKS - 1)
        payload = []
        for h in range(start, end + 1):
            ident += 1
            payload.append({"jsonrpc": "2.0", "id": ident, "method": "eth_getBlockByNumber", "params": [hex(h), True]})
        ident += 1
        payload.append(
            {
                "jsonrpc": "2.0",
                "id": ident,
                "method": "eth_getLogs",
                "params": [
                    {"fromBlock": hex(start), "toBlock": hex(end), "address": [DEVNET_TOKEN_ADDRESS], "topics": [TRANSFER_TOPIC]}
                ],
            }
        )
        answers = json.loads(session.post(node.url, json=payload, timeout=60).content)
        if len(answers) != len(payload) or any("error" in a for a in answers):
            raise RuntimeError("raw loop: node refused a batch")
    return (last - first + 1) / (time.perf_counter() - started)


def median_rates(node: Node, first: int, last: int, rounds: int) -> tuple[float, float, int]:
    """Alternate payram and raw rounds (so drift hits both alike); medians."""
    ours, raws, deposits = [], [], 0
    for _ in range(rounds):
        raws.append(raw_rate(node, first, last))
        rate, deposits = payram_rate(node, first, last)
        ours.append(rate)
    return statistics.median(ours), statistics.median(raws), deposits
