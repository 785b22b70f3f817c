"""Detection latency: block mined -> the pay page's status endpoint shows the change,
with a scan loop running at the devnet's poll interval (as manage.py scanloop does)."""

from __future__ import annotations

import logging
import random
import re
import statistics
import threading
import time
from typing import Self

from bench.env import Node

POLL_EVERY = 0.02  # how often the bench asks the status endpoint (a browser asks every 3 s)


class ScanLoop:
    """scan_network("devnet") in a thread on scanloop's schedule when caught up: the next
    scan is due one poll interval after the previous one started."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from chain.scanner import scan_network

        try:
            while not self.stop_event.is_set():
                started = time.monotonic()
                try:
                    scan_network("devnet")
                except Exception as exc:  # noqa: BLE001 - counted and shown, the loop carries on like scanloop
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self.stop_event.wait(max(0.0, started + self.interval - time.monotonic()))
        finally:
            connection.close()

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=60)


def _key(response) -> str:
    match = re.search(r"status/\?v=([0-9a-f]+)", response.content.decode())
    if not match:
        raise RuntimeError(f"status fragment without a poll key (HTTP {response.status_code})")
    return match.group(1)


def measure(node: Node, link, address: str, *, samples: int, rng: random.Random) -> tuple[list[float], float, list[str]]:
    """Seconds from each payment's block being mined to the status endpoint answering
    something new; and the poll interval."""
    from chain import catalogue
    from chain.scanner import scan_network

    interval = catalogue.get("devnet").poll_interval
    scan_network("devnet")  # catch up before timing
    with ScanLoop(interval) as loop:
        # land anywhere in the scan loop's cycle
        latencies = time_payments(node, link, address, samples=samples, pause=lambda: rng.uniform(0, interval), loop=loop)
    return latencies, interval, loop.errors


def time_payments(node: Node, link, address: str, *, samples: int, pause, loop, wait: float = 0.0) -> list[float]:
    """With `loop` scanning in the background: `samples` times, sleep `pause()` seconds, pay
    `address` an ether amount and time until the link's status endpoint answers something
    new (the htmx poll, asked every POLL_EVERY). `loop.errors` is shown if one never shows."""
    from django.test import Client
    from django.urls import reverse

    from chain import catalogue

    logging.getLogger("chain").setLevel(logging.ERROR)
    interval = catalogue.get("devnet").poll_interval
    url = reverse("pay:status", args=[link.code])
    client = Client()
    accounts = node.rpc("eth_accounts")
    key = _key(client.get(url, HTTP_HX_REQUEST="true"))
    if wait:
        time.sleep(wait)  # e.g. a push listener connecting
    latencies = []
    for n in range(samples):
        time.sleep(pause())
        node.rpc("eth_sendTransaction", [{"from": accounts[1], "to": address, "value": hex(10**15 + n), "gas": hex(21000)}])
        mined = time.perf_counter()  # automine: the block exists when the call returns
        deadline = mined + 10 * interval + 30
        while True:
            response = client.get(url, {"v": key}, HTTP_HX_REQUEST="true")
            if response.status_code == 200:
                latencies.append(time.perf_counter() - mined)
                key = _key(response)
                break
            if response.status_code != 204:
                raise RuntimeError(f"status endpoint answered HTTP {response.status_code}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"payment not visible after {deadline - mined:.0f} s; scan errors: {loop.errors[-3:]}")
            time.sleep(POLL_EVERY)
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)
