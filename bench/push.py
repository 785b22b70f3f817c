"""Detection latency with push wake-ups on: anvil's WebSocket `newHeads` wakes the scan,
as `manage.py scanloop` runs it (its ScanClock, scan_once and chain.push listener), at a
poll interval of 2 s and of 60 s. With push working, the interval is only the safety net,
so both should see a payment within about a second."""

from __future__ import annotations

import os
import random
import threading
from typing import Self

from bench import latency
from bench.env import Node

PAUSE_MAX = 3.0  # seconds between payments: with push, where in the poll cycle one lands no longer matters


class PushScanLoop:
    """scanloop's own loop for one network, with its push listener, in a thread."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        from django.db import connection

        from chain import catalogue, push
        from payram.management.commands.scanloop import ScanClock, scan_once

        net = catalogue.get(self.slug)
        waker = push.Waker()
        clock = ScanClock(waker)
        listeners = push.start_listeners([net], waker.wake)
        try:
            while not self.stop_event.is_set():
                if clock.is_due(self.slug, time.monotonic()):
                    started = clock.start(self.slug)
                    delay, failed = scan_once(net)
                    if failed:
                        self.errors.append("scan failed (see the log)")
                    clock.next_in(self.slug, started, delay)
                end = time.monotonic() + clock.pause([self.slug])
                waker.event.clear()
                while time.monotonic() < end and not self.stop_event.is_set() and not waker.pending():
                    waker.event.wait(min(0.2, max(0.0, end - time.monotonic())))
        finally:
            push.stop_listeners(listeners)
            connection.close()

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=60)


def measure(node: Node, link, address: str, *, samples: int, rng: random.Random, poll_seconds: float) -> list[float]:
    """Seconds from each payment's block being mined to the status endpoint answering the
    change, with push on and the devnet's poll interval set to `poll_seconds`."""
    from chain import catalogue
    from chain.scanner import scan_network

    os.environ["PAYRAM_WS_DEVNET"] = node.url.replace("http://", "ws://")  # anvil serves both on one port
    os.environ["PAYRAM_POLL_SECONDS_DEVNET"] = f"{poll_seconds:g}"
    catalogue.reload()
    try:
        scan_network("devnet")  # catch up before timing
        with PushScanLoop("devnet") as loop:
            return latency.time_payments(
                node, link, address, samples=samples, pause=lambda: rng.uniform(0, PAUSE_MAX), loop=loop, wait=1.0
            )
    finally:
        del os.environ["PAYRAM_WS_DEVNET"], os.environ["PAYRAM_POLL_SECONDS_DEVNET"]
        catalogue.reload()
