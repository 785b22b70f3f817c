"""Scan throughput (payram's scan_network vs a raw JSON-RPC loop over the same blocks)
and matching (100,000 watched addresses vs 10)."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.env import Node

JSON = {"Content-Type": "application/json"}


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


def payram_rate(node: Node, first: int, last: int, *, url: str | None = None) -> tuple[float, int]:
    """Blocks per second of scan_network over first..last (the node's head), reading the
    node at `url` (default: directly); and the deposits it recorded."""
    if url is None:
        return _payram_rate(node, first, last)
    from chain import catalogue

    previous = os.environ["PAYRAM_RPC_DEVNET"]
    os.environ["PAYRAM_RPC_DEVNET"] = url
    catalogue.reload()
    try:
        return _payram_rate(node, first, last)
    finally:
        os.environ["PAYRAM_RPC_DEVNET"] = previous
        catalogue.reload()


def _payram_rate(node: Node, first: int, last: int) -> tuple[float, int]:
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


def _raw_payload(first: int, last: int) -> list[dict]:
    from chain.adapters.evm import TRANSFER_TOPIC
    from chain.catalogue import DEVNET_TOKEN_ADDRESS

    payload = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_getBlockByNumber", "params": [hex(h), True]}
        for i, h in enumerate(range(first, last + 1))
    ]
    payload.append(
        {
            "jsonrpc": "2.0",
            "id": len(payload),
            "method": "eth_getLogs",
            "params": [
                {"fromBlock": hex(first), "toBlock": hex(last), "address": [DEVNET_TOKEN_ADDRESS], "topics": [TRANSFER_TOPIC]}
            ],
        }
    )
    return payload


def sequential_rate(node: Node, first: int, last: int, *, url: str | None = None) -> float:
    """The old, weak baseline: the same batched requests as payram (full blocks and the
    token's Transfer logs, BATCH_BLOCKS per request), one at a time, decoded, no DB."""
    return raw_rate(node, first, last, in_flight=1, url=url)


def raw_rate(node: Node, first: int, last: int, *, in_flight: int = 3, batch: int = 50, url: str | None = None) -> float:
    """Blocks per second of the fastest loop written here against the node: batched
    JSON-RPC requests of `batch` blocks (full transactions) plus the token's Transfer logs,
    `in_flight` of them at once, each thread over its own keep-alive connection, every
    answer decoded (json's C decoder; no faster parser is installed) and checked for
    errors; no DB. `tune` picks `in_flight` and `batch`."""
    target = url or node.url
    local = threading.local()
    spans = [(start, min(last, start + batch - 1)) for start in range(first, last + 1, batch)]

    def fetch(span: tuple[int, int]) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        payload = _raw_payload(*span)
        answers = json.loads(session.post(target, data=json.dumps(payload), headers=JSON, timeout=120).content)
        if len(answers) != len(payload) or any("error" in a for a in answers):
            raise RuntimeError("raw loop: node refused a batch")
        return span[1] - span[0] + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        done = sum(pool.map(fetch, spans))
    return done / (time.perf_counter() - started)


def tune(node: Node, first: int, last: int, *, url: str | None = None) -> tuple[float, int, int, list[str]]:
    """Try the raw loop at several depths and batch sizes, twice each (alternating), and
    keep the fastest: (rate, in_flight, batch, what was tried)."""
    tried: dict[tuple[int, int], list[float]] = {}
    for _ in range(2):
        for in_flight in (1, 2, 3, 6):
            for batch in (25, 50):
                tried.setdefault((in_flight, batch), []).append(
                    raw_rate(node, first, last, in_flight=in_flight, batch=batch, url=url)
                )
    best = max(tried, key=lambda k: max(tried[k]))
    lines = [f"{k[0]} in flight x {k[1]} blocks: {max(v):.1f} blocks/s" for k, v in sorted(tried.items())]
    return max(tried[best]), best[0], best[1], lines


def median_rates(
    node: Node, first: int, last: int, rounds: int, *, in_flight: int = 3, batch: int = 50, url: str | None = None
) -> tuple[float, float, int]:
    """Alternate payram and raw rounds (so drift hits both alike); medians."""
    ours, raws, deposits = [], [], 0
    for _ in range(rounds):
        raws.append(raw_rate(node, first, last, in_flight=in_flight, batch=batch, url=url))
        rate, deposits = payram_rate(node, first, last, url=url)
        ours.append(rate)
    return statistics.median(ours), statistics.median(raws), deposits
