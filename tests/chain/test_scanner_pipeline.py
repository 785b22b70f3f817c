"""The scanner reads batch N+1 from the node while it records batch N (chain/scanner.py,
_Prefetch). What an operator relies on: the overlap really happens, and a batch read ahead
is never trusted more than a batch read directly: a reorg under it rewinds, a node error
from it leaves the recorded batches recorded and nothing else, a lost lease stops the scan,
and no thread outlives the scan. Against a real anvil."""

from __future__ import annotations

import threading

import pytest

from chain.adapters import adapter_for
from chain.adapters.base import NodeError
from chain.catalogue import get
from chain.models import Cursor, Deposit
from chain.scanner import scan_network
from chain.signals import deposits_changed

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


class Watched:
    """The real devnet adapter; `before(n, start, end)` runs before the n-th blocks() call
    (counting from 1), in whichever thread makes the call."""

    def __init__(self, before=lambda n, start, end: None) -> None:
        self.inner = adapter_for(get("devnet"))
        self.before = before
        self.calls: list[tuple[int, int, str]] = []

    def head(self):
        return self.inner.head()

    def block_hash(self, height):
        return self.inner.block_hash(height)

    def mempool(self):
        return self.inner.mempool()

    def blocks(self, start, end):
        self.calls.append((start, end, threading.current_thread().name))
        self.before(len(self.calls), start, end)
        return self.inner.blocks(start, end)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scan-prefetch")]


@pytest.fixture
def on_deposits_changed():
    receivers = []

    def connect(receiver):
        receivers.append(receiver)
        deposits_changed.connect(receiver, weak=False)

    yield connect
    for receiver in receivers:
        deposits_changed.disconnect(receiver)


def test_the_next_batch_is_read_while_this_one_is_recorded(devnet, evm_address, on_deposits_changed):
    to = evm_address()
    start = devnet.head() + 1
    devnet.send_eth(to.address, 7)  # in the first batch
    devnet.mine(8)
    second_requested = threading.Event()
    overlapped: list[bool] = []

    def before(n, first, last):
        if n == 2:
            second_requested.set()

    def recording_first_batch(sender, network, address_ids, **kwargs):
        if not overlapped:  # still inside the first batch's record_batch
            overlapped.append(second_requested.wait(10))

    on_deposits_changed(recording_first_batch)
    adapter = Watched(before)
    result = scan_network("devnet", adapter=adapter, batch_blocks=3)

    assert overlapped == [True]  # the node was asked for batch 2 before batch 1 was done
    assert [(s, e) for s, e, _ in adapter.calls] == [(start, start + 2), (start + 3, start + 5), (start + 6, start + 8)]
    assert adapter.calls[0][2] == threading.current_thread().name
    assert all(name.startswith("scan-prefetch") for _, _, name in adapter.calls[1:])  # read ahead, off the scan's thread
    assert result.ok and result.blocks == 9 and result.height == devnet.head()
    assert [int(d.value) for d in Deposit.objects.filter(address=to)] == [7]
    assert prefetch_threads() == []


def test_a_single_batch_scan_reads_directly_without_a_thread(devnet, evm_address):
    devnet.send_eth(evm_address().address, 1)
    adapter = Watched()
    result = scan_network("devnet", adapter=adapter)
    assert result.ok and len(adapter.calls) == 1
    assert adapter.calls[0][2] == threading.current_thread().name


def test_a_reorg_seen_by_the_read_ahead_rewinds_and_records_the_new_chain(devnet, evm_address):
    to = evm_address()
    base = devnet.head()
    snap = devnet.snapshot()
    tx = devnet.send_eth(to.address, 3 * 10**15)  # block base+1
    devnet.mine(8)  # up to base+9
    raw = devnet.raw_transaction(tx)
    old_second = devnet.block_hash(base + 2)

    def before(n, start, end):
        if n == 2:  # batch 1 (base+1..base+3) is being recorded from the old chain
            devnet.revert(snap)
            devnet.mine(1)
            devnet.send_raw(raw)  # now in base+2 of the new chain
            devnet.mine(8)

    result = scan_network("devnet", adapter=Watched(before), batch_blocks=3, max_blocks=9)

    assert result.ok and result.reorgs == 1 and result.orphaned == 1
    [moved] = Deposit.objects.filter(address=to)
    assert not moved.orphaned and moved.tx_hash == tx
    assert moved.block_height == base + 2 and moved.block_hash == devnet.block_hash(base + 2) != old_second
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.block_hash == devnet.block_hash(cursor.height)  # on the new chain, nothing stale kept
    assert moved.confirmations == cursor.height - moved.block_height + 1
    assert prefetch_threads() == []


def test_a_node_error_in_the_read_ahead_keeps_recorded_batches_and_the_rerun_completes(devnet, evm_address):
    first_to, second_to = evm_address(), evm_address()
    base = devnet.head()
    devnet.send_eth(first_to.address, 11)  # base+1: batch 1
    devnet.mine(2)
    devnet.send_token(second_to.address, 22)  # base+4: batch 2
    devnet.mine(2)

    def before(n, start, end):
        if n == 2:
            raise NodeError("node unreachable (test)")

    with pytest.raises(NodeError, match="unreachable"):
        scan_network("devnet", adapter=Watched(before), batch_blocks=3)

    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == base + 3 and cursor.block_hash == devnet.block_hash(base + 3)
    assert cursor.consecutive_failures == 1 and "unreachable" in cursor.last_error and cursor.lock_owner == ""
    assert [int(d.value) for d in Deposit.objects.all()] == [11]
    assert prefetch_threads() == []

    result = scan_network("devnet", batch_blocks=3)
    assert result.ok and result.height == devnet.head()
    assert sorted(int(d.value) for d in Deposit.objects.all()) == [11, 22]  # each exactly once


def test_a_lease_lost_while_reading_ahead_stops_the_scan_and_records_nothing_more(devnet, evm_address, on_deposits_changed):
    first_to, second_to = evm_address(), evm_address()
    base = devnet.head()
    devnet.send_eth(first_to.address, 5)  # batch 1
    devnet.mine(2)
    devnet.send_eth(second_to.address, 6)  # batch 2
    devnet.mine(2)

    def another_worker_takes_the_lease(sender, network, address_ids, **kwargs):
        Cursor.objects.filter(network="devnet").update(lock_owner="another-worker")

    on_deposits_changed(another_worker_takes_the_lease)
    result = scan_network("devnet", adapter=Watched(), batch_blocks=3)

    assert not result.ok and "lost its lease" in result.error
    assert [int(d.value) for d in Deposit.objects.all()] == [5]
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == base + 3 and cursor.lock_owner == "another-worker"
    assert prefetch_threads() == []


def test_a_scan_stopped_mid_batch_does_not_wait_for_the_read_ahead(devnet, evm_address, on_deposits_changed):
    """SIGTERM raises in the scan's thread (scanloop turns it into SystemExit): the scan must
    let go at once, not after the node's timeout, and keep what it recorded."""
    import time

    to = evm_address()
    base = devnet.head()
    devnet.send_eth(to.address, 9)  # batch 1
    devnet.mine(5)
    node_answers = threading.Event()

    def before(n, start, end):
        if n == 2:
            node_answers.wait(20)  # a node slow to answer the read-ahead

    def stop_signal(sender, network, address_ids, **kwargs):
        raise SystemExit(0)

    on_deposits_changed(stop_signal)
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit):
            scan_network("devnet", adapter=Watched(before), batch_blocks=3)
        assert time.monotonic() - started < 10  # not the 20 s the read-ahead is held
        cursor = Cursor.objects.get(network="devnet")
        assert cursor.height == base + 3 and cursor.lock_owner == ""  # batch 1 kept, the network let go
        assert [int(d.value) for d in Deposit.objects.all()] == [9]
    finally:
        node_answers.set()
    for thread in prefetch_threads():
        thread.join(10)  # the helper ends with its read
    assert prefetch_threads() == []


class ThreadSafeWatched(Watched):
    """As Watched, for an adapter that may be read from several threads at once (the real
    EVM adapter is: one keep-alive session per thread)."""

    thread_safe = True


class ChainSwitch:
    """Replaces the devnet's chain between reads, never under one: anvil's revert-and-mine
    passes through a chain shorter than the one being read, which a real node switching to
    a heavier chain does not show (a read beyond its head would fail the scan, and be
    retried, for a reason that is the test's, not the reorg's)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.active = 0
        self.switching = False

    def read(self, call):
        with self.cond:
            while self.switching:
                self.cond.wait()
            self.active += 1
        try:
            return call()
        finally:
            with self.cond:
                self.active -= 1
                self.cond.notify_all()

    def switch(self, change) -> None:
        """Called from inside a read (a `before` hook): waits for the other reads to end."""
        with self.cond:
            self.switching = True
            while self.active > 1:
                self.cond.wait()
            try:
                change()
            finally:
                self.switching = False
                self.cond.notify_all()


class SwitchedWatched(ThreadSafeWatched):
    def __init__(self, before, switch: ChainSwitch) -> None:
        super().__init__(before)
        self.switch = switch

    def blocks(self, start, end):
        return self.switch.read(lambda: super(SwitchedWatched, self).blocks(start, end))


def test_a_thread_safe_adapter_has_several_batches_in_flight_recorded_in_order(devnet, evm_address, monkeypatch):
    from chain import scanner

    monkeypatch.setattr(scanner, "BATCHES_IN_FLIGHT", 3)
    first_to, last_to = evm_address(), evm_address()
    start = devnet.head() + 1
    devnet.send_eth(first_to.address, 1)  # batch 1
    devnet.mine(9)
    devnet.send_eth(last_to.address, 2)  # batch 6 (start+10, start+11 is its end)
    devnet.mine(1)
    reading = threading.Semaphore(0)
    together: list[bool] = []

    def before(n, first, last):
        reading.release()
        if n == 2:  # batch 2 waits until batches 3 and 4 are being read as well
            together.append(all(reading.acquire(timeout=10) for _ in range(3)))

    adapter = ThreadSafeWatched(before)
    result = scan_network("devnet", adapter=adapter, batch_blocks=2)

    assert together == [True]  # three batches were with the node at once
    assert sorted((s, e) for s, e, _ in adapter.calls) == [(start + i, start + i + 1) for i in range(0, 12, 2)]
    assert result.ok and result.blocks == 12 and result.height == devnet.head()
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.block_hash == devnet.block_hash(cursor.height)
    assert [int(d.value) for d in Deposit.objects.order_by("block_height")] == [1, 2]
    last = Deposit.objects.get(address=last_to)
    assert last.confirmations == cursor.height - last.block_height + 1  # counted against the last batch's tip
    assert prefetch_threads() == []


def test_a_reorg_under_several_reads_in_flight_rewinds_and_records_the_new_chain(devnet, evm_address, monkeypatch):
    from chain import scanner

    monkeypatch.setattr(scanner, "BATCHES_IN_FLIGHT", 3)
    to = evm_address()
    base = devnet.head()
    snap = devnet.snapshot()
    tx = devnet.send_eth(to.address, 3 * 10**15)  # block base+1
    devnet.mine(11)
    raw = devnet.raw_transaction(tx)
    replaced = threading.Event()
    switch = ChainSwitch()

    def new_chain():
        devnet.revert(snap)
        devnet.mine(3)
        devnet.send_raw(raw)  # now in base+4 of the new chain
        devnet.mine(8)

    def before(n, start, end):
        if n == 3 and not replaced.is_set():  # batches 2 and 3 are read from the old chain
            replaced.set()
            switch.switch(new_chain)

    result = scan_network("devnet", adapter=SwitchedWatched(before, switch), batch_blocks=3, max_blocks=12)

    assert result.ok and result.reorgs >= 1
    [moved] = Deposit.objects.filter(address=to)
    assert not moved.orphaned and moved.block_height == base + 4 and moved.block_hash == devnet.block_hash(base + 4)
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.block_hash == devnet.block_hash(cursor.height)
    assert prefetch_threads() == []
