"""Push wake-ups: a node's own notifications wake its network's scan at once, so a payment
is seen within about a second instead of a poll interval (60 s on Bitcoin mainnet).

* Bitcoin Core: ZMQ (`PAYRAM_ZMQ_<SLUG>=tcp://host:port`, the node started with
  `-zmqpubsequence=...` or `-zmqpubhashblock=...`/`-zmqpubrawtx=...`). Every message on the
  socket, whatever its topic, is a wake-up: a transaction entering the mempool, a block.
* EVM nodes: a WebSocket endpoint (`PAYRAM_WS_<SLUG>`), `eth_subscribe` to `newHeads`.

Nothing is recorded from a notification: the scan reads the node as it always does, so a
lost or forged notification can cost time, never correctness. Polling stays the safety
net. A listener reconnects with backoff (1 s doubling to 30 s) and reports whether it is
connected on the network's cursor, which Network health shows.

`Listener(network, wake)` is a daemon thread; `wake(slug)` must be cheap and thread-safe.
scanloop runs listeners in its own process; with Celery, `manage.py pushlisten` runs them
and sends the network's scan task (the lease keeps scans single).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import zmq
from django.db import DatabaseError, connection
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from zmq.utils.monitor import recv_monitor_message

from chain.catalogue import BITCOIN, Network
from chain.models import Cursor

logger = logging.getLogger(__name__)

RECONNECT_MAX_SECONDS = 30.0
IDLE_CHECK_SECONDS = 0.5  # how often a listener looks up from its socket to see if it must stop


def record_state(slug: str, state: str) -> None:
    """'connected', or 'disconnected: why' (shown on Network health). Best effort: the
    listener goes on even when the database is away."""
    try:
        Cursor.objects.get_or_create(network=slug)
        Cursor.objects.filter(network=slug).update(push_state=state[:200], push_state_at=timezone.now())
    except DatabaseError as exc:
        logger.warning("%s: could not record the push state (%s)", slug, exc)
    finally:
        connection.close()


class Listener(threading.Thread):
    """Listens to one network's node notifications and calls `wake(slug)` for each."""

    def __init__(
        self, network: Network, wake: Callable[[str], None], *, record: Callable[[str, str], None] = record_state
    ) -> None:
        super().__init__(name=f"push-{network.slug}", daemon=True)
        self.network = network
        self.wake = wake
        self.record = record
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.notifications = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        delay = 1.0
        listen = self._listen_zmq if self.network.kind == BITCOIN else self._listen_ws
        while not self.stopping.is_set():
            try:
                listen()
                delay = 1.0  # a clean end (stop) or a dropped connection after working
            except Exception as exc:  # any failure: note it, wait, reconnect; polling covers the gap
                reason = f"{type(exc).__name__}: {str(exc)[:150]}"
                logger.warning(
                    "%s: push notifications from %s stopped (%s); reconnecting in %g s",
                    self.network.slug,
                    self.network.display_push_url,
                    reason,
                    delay,
                )
                self._state(f"disconnected: {reason}")
                if self.stopping.wait(delay):
                    break
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        self._state("stopped")

    def _state(self, state: str) -> None:
        if state == "connected":
            self.connected.set()
        else:
            self.connected.clear()
        self.record(self.network.slug, state)

    def _notified(self) -> None:
        self.notifications += 1
        self.wake(self.network.slug)

    # -- Bitcoin Core: ZMQ ----------------------------------------------------------------

    def _listen_zmq(self) -> None:
        context = zmq.Context.instance()
        socket = context.socket(zmq.SUB)
        monitor = socket.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
        try:
            socket.setsockopt(zmq.SUBSCRIBE, b"")  # every topic the node publishes
            socket.setsockopt(zmq.RCVHWM, 1000)
            socket.connect(self.network.push_url)
            poller = zmq.Poller()
            poller.register(socket, zmq.POLLIN)
            poller.register(monitor, zmq.POLLIN)
            while not self.stopping.is_set():
                ready = dict(poller.poll(IDLE_CHECK_SECONDS * 1000))
                if monitor in ready:
                    event = recv_monitor_message(monitor)["event"]
                    if event == zmq.EVENT_CONNECTED:
                        self._state("connected")
                    elif event == zmq.EVENT_DISCONNECTED:
                        # ZMQ reconnects by itself; polling covers the gap meanwhile.
                        self._state("disconnected: the node closed the connection")
                if socket in ready:
                    while True:  # drain: many notifications at once are one wake-up
                        try:
                            socket.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                    self._notified()
        finally:
            socket.disable_monitor()
            monitor.close(linger=0)
            socket.close(linger=0)

    # -- EVM: WebSocket newHeads ----------------------------------------------------------

    def _listen_ws(self) -> None:
        with ws_connect(self.network.push_url, open_timeout=10, close_timeout=2, max_size=2**20) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            answer = json.loads(ws.recv(timeout=10))
            if not isinstance(answer, dict) or not isinstance(answer.get("result"), str):
                raise RuntimeError(f"the node refused eth_subscribe newHeads: {str(answer)[:150]}")
            self._state("connected")
            while not self.stopping.is_set():
                try:
                    message = ws.recv(timeout=IDLE_CHECK_SECONDS)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    raise RuntimeError("the node closed the WebSocket") from None
                try:
                    notice = json.loads(message)
                except ValueError:
                    continue
                if isinstance(notice, dict) and notice.get("method") == "eth_subscription":
                    self._notified()


class Waker:
    """Coalesces wake-ups: `wake(slug)` marks a network; `due(slug, last_start)` says when
    its scan may start (at once, but not closer than `gap` to the previous scan's start, so
    a mempool busy with notifications is scanned about once a `gap`, never once per
    transaction)."""

    def __init__(self, gap: float = 0.5) -> None:
        self.gap = gap
        self.lock = threading.Lock()
        self.woken: set[str] = set()
        self.event = threading.Event()

    def wake(self, slug: str) -> None:
        with self.lock:
            self.woken.add(slug)
        self.event.set()

    def take(self, slug: str) -> bool:
        with self.lock:
            if slug in self.woken:
                self.woken.discard(slug)
                return True
            return False

    def pending(self) -> set[str]:
        with self.lock:
            return set(self.woken)


def start_listeners(networks: list[Network], wake: Callable[[str], None]) -> list[Listener]:
    listeners = [Listener(net, wake) for net in networks if net.push_url]
    for listener in listeners:
        listener.start()
        logger.info("%s: push wake-ups from %s", listener.network.slug, listener.network.display_push_url)
    return listeners


def stop_listeners(listeners: list[Listener], *, timeout: float = 3.0) -> None:
    for listener in listeners:
        listener.stop()
    deadline = time.monotonic() + timeout
    for listener in listeners:
        listener.join(max(0.0, deadline - time.monotonic()))
