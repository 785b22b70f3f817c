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

Housekeeping (link expiry, webhook and email retries: links.housekeeping, what beat runs
with Celery) runs in its own thread every minute, so a mail server or webhook receiver that
hangs until its timeout never delays block processing. With --once it runs inline, once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("chain.scanloop")


def pidfile() -> Path:
    return Path(settings.VAR_DIR) / "scanloop.pid"


class Housekeeper(threading.Thread):
    """links.housekeeping's jobs every EVERY_SECONDS, beside the scanning thread (a daemon:
    a pass stuck on a network timeout does not hold up a stop). Its database connections
    are its own and are closed after every pass."""

    def __init__(self) -> None:
        super().__init__(name="scanloop-housekeeping", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connections

        from links import housekeeping

        while not self.stopping.is_set():
            try:
                housekeeping.run_all()  # logs a failing job and goes on with the others
            except Exception:
                logger.exception("scanloop: housekeeping pass failed")
            finally:
                connections.close_all()
            self.stopping.wait(housekeeping.EVERY_SECONDS)


class Command(BaseCommand):
    help = "Scan every enabled network in a loop (the embedded default's worker); --once for a single pass."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass over the networks, then exit (1 if any failed)")
        parser.add_argument("--network", action="append", default=[], help="only this network slug (repeatable)")

    def handle(self, *args, once: bool = False, network: list[str], **options):
        from chain import catalogue, push
        from chain.health import configured_networks
        from chain.scanner import scan_network, scan_wait
        from links import housekeeping

        self.restart = False

        def on_hup(signum, frame):
            self.restart = True

        def on_term(signum, frame):
            raise SystemExit(0)  # unwinds through scan_network's finally: the lease is given back

        signal.signal(signal.SIGTERM, on_term)
        if not once:
            signal.signal(signal.SIGHUP, on_hup)
            pidfile().parent.mkdir(parents=True, exist_ok=True)
            pidfile().write_text(str(os.getpid()))

        due: dict[str, float] = {}
        started_at: dict[str, float] = {}
        failed_once = False
        announced = False
        housekeeper = None if once else Housekeeper()
        if housekeeper:
            housekeeper.start()
        waker = push.Waker()
        listeners: list[push.Listener] = []
        try:
            while True:
                if self.restart:
                    self.restart = False
                    catalogue.reload()
                    due.clear()
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
                    for slug, message in errors.items():
                        logger.error("scanloop: network %s is misconfigured and not watched: %s", slug, message)
                    logger.info(
                        "scanloop: watching %s",
                        ", ".join(f"{n.slug} (every {n.poll_interval:g} s)" for n in nets) or "no network",
                    )
                if not nets and once:
                    self.stderr.write("no enabled network to scan (set PAYRAM_RPC_<NETWORK>)")
                    raise SystemExit(1)
                now = time.monotonic()
                for net in nets:
                    if waker.take(net.slug):  # the node said something happened: scan now
                        due[net.slug] = min(due.get(net.slug, 0), max(now, started_at.get(net.slug, 0) + waker.gap))
                    if due.get(net.slug, 0) > now:
                        continue
                    # Due again one interval after this scan STARTED, so detection waits at
                    # most an interval plus one scan, not an interval plus two (bench/).
                    started = started_at[net.slug] = time.monotonic()
                    try:
                        # Backing off: wait, but look again within an interval (the
                        # liveness probe may find the node back before the wait ends).
                        waiting = scan_wait(net.slug)
                    except Exception:
                        logger.exception("scanloop: could not read %s's backoff", net.slug)
                        waiting = 0.0
                    if waiting > 0:
                        due[net.slug] = started + min(waiting, net.poll_interval)
                        continue
                    try:
                        result = scan_network(net.slug)
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
                        delay = 0.0 if result.ok and not result.caught_up and not result.skipped else net.poll_interval
                    except Exception as exc:  # logged, recorded on the cursor, and the loop carries on
                        failed_once = True
                        # Looked at again in an interval; scan_wait then says whether to
                        # scan, wait out the backoff, or probe the node.
                        delay = net.poll_interval
                        logger.error(
                            "scanloop: %s failed (next check in %.0f s): %s",
                            net.slug,
                            max(0.0, started + delay - time.monotonic()),
                            exc,
                        )
                    due[net.slug] = started + delay
                if once:
                    housekeeping.run_all()  # link expiry etc., as beat does with Celery
                    raise SystemExit(1 if failed_once or errors else 0)
                upcoming = [due[n.slug] for n in nets if n.slug in due]
                pause = max(0.2, min(upcoming) - time.monotonic()) if upcoming else 5.0
                end = time.monotonic() + pause
                waker.event.clear()
                while time.monotonic() < end and not self.restart and not waker.pending():
                    waker.event.wait(min(0.2, max(0.0, end - time.monotonic())))
        finally:
            push.stop_listeners(listeners)
            if housekeeper:
                housekeeper.stopping.set()
            if not once and pidfile().exists() and pidfile().read_text().strip() == str(os.getpid()):
                pidfile().unlink()
