"""Recovery after an outage is measured in one poll interval, not the backoff: while a
network backs off after its node stopped answering, a cheap liveness probe ends the wait as
soon as the node answers; and a live scan keeps its (short) lease with a heartbeat, so a
dead one's lapses quickly. Against the Core-format server, with real threads."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from chain import scanner
from chain.adapters.base import NodeError
from chain.models import Cursor, Deposit
from chain.scanner import backoff_remaining, claim_lease, scan_network, scan_wait
from chain.tasks import scan_network_task
from chain.wallets import address_allocate, wallet_set
from tests.chain.test_chain_time import NETWORK, VPUB
from tests.support.bitcoin_core import FakeNode

pytestmark = pytest.mark.django_db


@pytest.fixture
def address(project):
    wallet_set(project=project, family=NETWORK, xpub=VPUB)
    return address_allocate(project=project, family=NETWORK, purpose="test")


def _fail_while_down(node: FakeNode, times: int) -> None:
    node.stop()
    for _ in range(times):
        with pytest.raises(NodeError):
            scan_network(NETWORK)


def _probes(node: FakeNode) -> int:
    return sum(1 for r in node.server.http_requests if "getblockcount" in str(r))


def test_a_node_back_from_an_outage_is_scanned_at_the_next_tick_not_after_the_backoff(bitcoin_core: FakeNode, address):
    scan_network(NETWORK)
    _fail_while_down(bitcoin_core, 9)
    cursor = Cursor.objects.get(network=NETWORK)
    assert cursor.consecutive_failures == 9 and cursor.node_unreachable
    assert backoff_remaining(NETWORK) > 200  # the doubled backoff: minutes

    # While it is still down, the probe finds nothing and the network keeps waiting, looking
    # again within one poll interval (regtest: 2 s), not at the end of the backoff.
    waiting = scan_wait(NETWORK)
    assert 0 < waiting <= 2
    skipped = scan_network_task(NETWORK)
    assert skipped["skipped"] and not skipped["ok"]

    bitcoin_core.start()
    txid = bitcoin_core.send(address.address, Decimal("0.002"))
    time.sleep(2.1)  # the next tick, one poll interval later
    result = scan_network_task(NETWORK)  # what beat's next tick runs
    assert result["ok"] and not result["skipped"] and result["new_deposits"] == 1
    assert Deposit.objects.get(address=address).tx_hash == txid
    cursor = Cursor.objects.get(network=NETWORK)
    assert (cursor.consecutive_failures, cursor.node_unreachable, cursor.last_error) == (0, False, "")


def test_the_probe_asks_the_node_at_most_once_per_poll_interval(bitcoin_core: FakeNode, address):
    scan_network(NETWORK)
    _fail_while_down(bitcoin_core, 6)
    bitcoin_core.start()
    bitcoin_core.server.http_requests.clear()
    Cursor.objects.filter(network=NETWORK).update(last_probe_at=scanner.timezone.now())  # a worker just probed
    for _ in range(5):
        assert scan_wait(NETWORK) > 0  # beat ticks and several workers asking at once
    assert _probes(bitcoin_core) == 0
    Cursor.objects.filter(network=NETWORK).update(last_probe_at=scanner.timezone.now() - scanner.timedelta(seconds=3))
    assert scan_wait(NETWORK) == 0
    assert _probes(bitcoin_core) == 1


def test_a_node_that_answers_badly_is_not_rescanned_early_by_the_probe(bitcoin_core: FakeNode, address):
    scan_network(NETWORK)
    bitcoin_core.server.tamper("getblock", lambda answer: {"not": "a block"})
    bitcoin_core.mine()
    for _ in range(6):
        with pytest.raises(NodeError):
            scan_network(NETWORK)
    assert not Cursor.objects.get(network=NETWORK).node_unreachable
    # getblockcount works, but a full scan would fail again: only the backoff says when.
    assert scan_wait(NETWORK) > 30
    assert Cursor.objects.get(network=NETWORK).consecutive_failures == 6


@pytest.mark.django_db(transaction=True)
def test_a_live_scan_waiting_on_a_slow_node_keeps_its_lease_and_a_dead_ones_lapses(bitcoin_core: FakeNode, address, monkeypatch):
    monkeypatch.setattr(scanner, "LEASE_SECONDS", 1.5)  # a heartbeat every half second
    scan_network(NETWORK)
    bitcoin_core.send(address.address, Decimal("0.003"))
    bitcoin_core.mine()
    slow = threading.Event()

    def slowly(answer):
        slow.set()
        time.sleep(4)  # far longer than the lease
        return answer

    bitcoin_core.server.tamper("getblock", slowly)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = scan_network(NETWORK)
        finally:
            connection.close()

    scan = threading.Thread(target=run)
    scan.start()
    assert slow.wait(10)
    time.sleep(2.5)
    assert not claim_lease(NETWORK, "intruder")  # still held: the heartbeat renewed it
    scan.join(20)
    result = outcome["result"]
    assert result.ok and result.new_deposits == 1 and "lost its lease" not in result.error

    # A holder that died (its heartbeat gone with it) lets go within the lease.
    Cursor.objects.filter(network=NETWORK).update(
        lock_owner="dead", locked_until=scanner.timezone.now() + scanner.timedelta(seconds=1.5)
    )
    assert not claim_lease(NETWORK, "next")
    time.sleep(1.6)
    assert claim_lease(NETWORK, "next")
