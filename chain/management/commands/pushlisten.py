"""With Celery: listen to every enabled network's push endpoint (PAYRAM_ZMQ_<SLUG>,
PAYRAM_WS_<SLUG>) and send that network's scan task on each notification, at most one per
half second per network. Beat keeps polling as the safety net; the scan lease keeps scans
single however many are sent. (scanloop, the embedded default, runs the same listeners
itself.)

    python manage.py pushlisten      # runs until SIGTERM/Ctrl-C
"""

from __future__ import annotations

import logging
import signal
import time

from django.core.management.base import BaseCommand

from chain import push
from chain.health import configured_networks
from chain.tasks import scan_network_task

logger = logging.getLogger("chain.pushlisten")


class Command(BaseCommand):
    help = "Send a network's scan task whenever its node notifies (ZMQ / WebSocket); for the Celery setup."

    def handle(self, *args, **options):
        def on_term(signum, frame):
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, on_term)
        enabled, _errors = configured_networks()
        waker = push.Waker()
        listeners = push.start_listeners(enabled, waker.wake)
        if not listeners:
            self.stderr.write("no network has a push endpoint (set PAYRAM_ZMQ_<NETWORK> or PAYRAM_WS_<NETWORK>)")
            raise SystemExit(1)
        sent: dict[str, float] = {}
        try:
            while True:
                waker.event.wait(1.0)
                waker.event.clear()
                now = time.monotonic()
                for slug in waker.pending():
                    wait = sent.get(slug, 0) + waker.gap - now
                    if wait > 0:
                        waker.event.set()  # look again shortly: coalesced, not dropped
                        continue
                    waker.take(slug)
                    sent[slug] = now
                    scan_network_task.delay(slug)
                time.sleep(0.05)
        finally:
            push.stop_listeners(listeners)
