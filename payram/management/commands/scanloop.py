"""The embedded default's block processing (no Redis, no Celery worker): scan every enabled
network with the same scan_network the Celery task calls, each at its poll interval.

    python manage.py scanloop            # runs until stopped (SIGTERM/Ctrl-C)
    python manage.py scanloop --once     # one pass over the networks, then exit

Errors are logged and recorded on the network's cursor (the health page shows them); a
failing network waits out chain.scanner.scan_wait (a doubling, capped backoff, ended early
by a liveness probe when the node comes back: the same rule the Celery task follows) while
the others carry on. SIGHUP (sent
by bin/reset-scanning) re-reads the configuration and scans every network right away.

Push wake-ups (chain.push: Bitcoin Core's ZMQ, an EVM node's WebSocket) run as threads
here: a notification makes the network due at once (at most one scan per half second),
so a payment is seen within about a second whatever the poll interval.

Housekeeping (link expiry, webhook and email retries: the job table in payram/jobs.py,
what beat runs with Celery) runs in its own thread every minute, so a mail server or webhook receiver that
hangs until its timeout never delays block processing. With --once it runs inline, once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import connections

from chain import catalogue, push
from chain.health import configured_networks
from chain.scanner import backoff_remaining, scan_network, scan_wait
from payram.jobs import EVERY_MINUTE, run_housekeeping
from payram.lib.pidfile import scanloop_pidfile

logger = logging.getLogger("chain.scanloop")


class Housekeeper(threading.Thread):
    """The job table's housekeeping every minute, beside the scanning thread (a daemon:
    a pass stuck on a network timeout does not hold up a stop). Its database connections
    are its own and are closed after every pass."""

    def __init__(self) -> None:
        super().__init__(name="scanloop-housekeeping", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                run_housekeeping()  # logs a failing job and goes on with the others
            except Exception:
                logger.exception("scanloop: housekeeping pass failed")
            finally:
                connections.close_all()
            self.stopping.wait(EVERY_MINUTE)


class ScanClock:
    """When each network is next due. A scan is due again one interval after it STARTED,
    so detection waits at most an interval plus one scan, not an interval plus two
    (bench/); a push wake-up makes it due at once, at most one scan per `waker.gap`."""

    def __init__(self, waker: push.Waker) -> None:
        self.waker = waker
        self.due: dict[str, float] = {}
        self.started_at: dict[str, float] = {}

    def is_due(self, slug: str, now: float) -> bool:
        if self.waker.take(slug):  # the node said something happened: scan now
            self.due[slug] = min(self.due.get(slug, 0), max(now, self.started_at.get(slug, 0) + self.waker.gap))
        return self.due.get(slug, 0) <= now

    def start(self, slug: str) -> float:
        started = self.started_at[slug] = time.monotonic()
        return started

    def next_in(self, slug: str, started: float, delay: float) -> None:
        self.due[slug] = started + delay

    def pause(self, slugs) -> float:
        upcoming = [self.due[s] for s in slugs if s in self.due]
        return max(0.2, min(upcoming) - time.monotonic()) if upcoming else 5.0

    def reset(self) -> None:
        self.due.clear()


def wait_after_failure(net) -> float:
    """Seconds from now to the next try after a failed scan: at least one poll interval
    from the failure's end (never a retry the instant a slow failure returns), and at least
    what the recorded backoff still asks (scan_wait then decides, probing the node)."""
    try:
        remaining = backoff_remaining(net.slug)
    except Exception:
        logger.exception("scanloop: could not read %s's backoff", net.slug)
        remaining = 0.0
    return max(float(net.poll_interval), remaining)


def scan_once(net) -> tuple[float, bool]:
    """Scan one network if its backoff allows: (seconds until it is due again, failed)."""
    try:
        # Backing off: wait, but look again within an interval (the liveness probe may
        # find the node back before the wait ends).
        waiting = scan_wait(net.slug)
    except Exception:
        logger.exception("scanloop: could not read %s's backoff", net.slug)
        waiting = 0.0
    if waiting > 0:
        return min(waiting, net.poll_interval), False
    started = time.monotonic()
    try:
        result = scan_network(net.slug)
    except Exception as exc:  # logged, recorded on the cursor, and the loop carries on
        wait = wait_after_failure(net)
        logger.error("scanloop: %s failed (next try in %.0f s): %s", net.slug, wait, exc)
        # The clock counts from the scan's start: a scan that failed after the node's
        # timeout (longer than an interval) would otherwise be retried at once.
        return time.monotonic() - started + wait, True
    if result.blocks or result.new_deposits or result.reorgs:
        logger.info(
            "scanloop: %s at %s (head %s): %s blocks, %s new deposits, %s reorgs",
            net.slug,
            result.height,
            result.head,
            result.blocks,
            result.new_deposits,
            result.reorgs,
        )
    return (0.0 if result.ok and not result.caught_up and not result.skipped else net.poll_interval), False


def _announce(nets, errors) -> None:
    for slug, message in errors.items():
        logger.error("scanloop: network %s is misconfigured and not watched: %s", slug, message)
    logger.info("scanloop: watching %s", ", ".join(f"{n.slug} (every {n.poll_interval:g} s)" for n in nets) or "no network")


class Command(BaseCommand):
    help = "Scan every enabled network in a loop (the embedded default's worker); --once for a single pass."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass over the networks, then exit (1 if any failed)")
        parser.add_argument("--network", action="append", default=[], help="only this network slug (repeatable)")

    def handle(self, *args, once: bool = False, network: list[str], **options):
        self.restart = False

        def on_hup(signum, frame):
            self.restart = True

        def on_term(signum, frame):
            raise SystemExit(0)  # unwinds through scan_network's finally: the lease is given back

        signal.signal(signal.SIGTERM, on_term)
        if not once:
            signal.signal(signal.SIGHUP, on_hup)
            scanloop_pidfile().parent.mkdir(parents=True, exist_ok=True)
            scanloop_pidfile().write_text(str(os.getpid()))

        failed_once = False
        announced = False
        housekeeper = None if once else Housekeeper()
        if housekeeper:
            housekeeper.start()
        waker = push.Waker()
        clock = ScanClock(waker)
        listeners: list[push.Listener] = []
        try:
            while True:
                if self.restart:
                    self.restart = False
                    catalogue.reload()
                    clock.reset()
                    announced = False
                    push.stop_listeners(listeners)
                    listeners = []
                    logger.info("scanloop: configuration re-read; scanning every network now")
                enabled, errors = configured_networks()
                nets = [n for n in enabled if not network or n.slug in network]
                if not once and not listeners:
                    listeners = push.start_listeners(nets, waker.wake)
                if not announced:  # at start and after SIGHUP, not on every pass
                    announced = True
                    _announce(nets, errors)
                if not nets and once:
                    self.stderr.write("no enabled network to scan (set PAYRAM_RPC_<NETWORK>)")
                    raise SystemExit(1)
                for net in nets:
                    if not clock.is_due(net.slug, time.monotonic()):
                        continue
                    started = clock.start(net.slug)
                    delay, failed = scan_once(net)
                    failed_once |= failed
                    clock.next_in(net.slug, started, delay)
                if once:
                    run_housekeeping()  # link expiry etc., as beat does with Celery
                    raise SystemExit(1 if failed_once or errors else 0)
                end = time.monotonic() + clock.pause(n.slug for n in nets)
                waker.event.clear()
                while time.monotonic() < end and not self.restart and not waker.pending():
                    waker.event.wait(min(0.2, max(0.0, end - time.monotonic())))
        finally:
            push.stop_listeners(listeners)
            if housekeeper:
                housekeeper.stopping.set()
            pid = scanloop_pidfile()
            if not once and pid.exists() and pid.read_text().strip() == str(os.getpid()):
                pid.unlink()
