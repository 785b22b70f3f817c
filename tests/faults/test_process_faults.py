"""Processes fail: a Celery worker is SIGKILLed mid-batch, the same scan is delivered twice
at once, Redis restarts, PostgreSQL drops every connection. Real worker and beat processes
on Redis and pytest's PostgreSQL test database, real anvil; what is asserted is what an
operator would see: every deposit recorded exactly once, the cursor at the node's head,
no lease held by a dead worker, processes still running without anyone restarting them."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from chain.models import Cursor, Deposit
from chain.scanner import LEASE_SECONDS
from chain.tasks import scan_network_task
from tests.faults.support import Celery, RedisServer, celery_running
from tests.support.anvil import wait_for

pytestmark = [pytest.mark.anvil, pytest.mark.django_db(transaction=True)]

SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor == "sqlite":
        pytest.skip(
            "several processes (or threads) share one database here; pytest's SQLite test database is in one process's memory; runs on PostgreSQL"
        )


@pytest.fixture
def shared_redis():
    import redis

    try:
        client = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {SHARED_REDIS} is needed for the worker tests: {exc}")
    client.delete("celery", "unacked", "unacked_index")  # nothing queued by an earlier run
    return SHARED_REDIS


def deposits(addresses) -> list[tuple[str, int]]:
    return sorted((d.tx_hash, int(d.value)) for d in Deposit.objects.filter(address__in=addresses))


def pay(devnet, addresses, first_value: int = 10**15) -> list[tuple[str, int]]:
    sent = []
    for i, to in enumerate(addresses):
        value = first_value + i
        sent.append((devnet.send_eth(to.address, value), value))
        devnet.mine(2)
    return sorted(sent)


def caught_up(devnet) -> bool:
    cursor = Cursor.objects.get(network="devnet")
    return cursor.height == devnet.head() and cursor.last_success_at is not None and not cursor.last_error


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_a_lease_that_lapses_and_another_worker_completes_the_scan(
    proxy, devnet, evm_address, tmp_path, shared_redis
):
    addresses = [evm_address() for _ in range(4)]
    sent = pay(devnet, addresses)
    proxy.hold_blocks.set()  # the worker's first block fetch stays in flight
    celery = Celery(tmp_path, shared_redis, proxy.url)  # the default lease (chain.scanner.LEASE_SECONDS)
    with celery_running(celery):
        celery.worker("doomed")
        celery.beat()
        assert proxy.blocks_in_flight.wait(60), "the worker never fetched blocks"
        held = Cursor.objects.get(network="devnet")
        assert held.lock_owner and held.locked_until > timezone.now()  # the scan holds the network
        # Alive but waiting on a slow node, it keeps its lease: the heartbeat renews it.
        wait_for(
            lambda: Cursor.objects.get(network="devnet").locked_until > held.locked_until,
            seconds=LEASE_SECONDS,
            what="the live scan's heartbeat to renew its lease",
        )
        assert Cursor.objects.get(network="devnet").lock_owner == held.lock_owner

        celery.kill("doomed")  # SIGKILL mid-batch: no cleanup runs
        proxy.hold_blocks.clear()
        killed_at = time.monotonic()

        dead = Cursor.objects.get(network="devnet")
        assert dead.lock_owner == held.lock_owner and deposits(addresses) == []  # nothing half-recorded
        assert dead.locked_until <= timezone.now() + timezone.timedelta(seconds=LEASE_SECONDS)  # bounded, not forever

        celery.worker("survivor")
        wait_for(lambda: deposits(addresses) == sent and caught_up(devnet), what="another worker to complete the scan")
        # Taken over within the lease (well under a minute) plus a poll and a scan.
        assert time.monotonic() - killed_at < LEASE_SECONDS + 20
        assert Cursor.objects.get(network="devnet").lock_owner != held.lock_owner
        assert Deposit.objects.filter(address__in=addresses, orphaned=False).count() == len(sent)  # exactly once


def test_the_same_scan_delivered_twice_at_once_runs_once_and_the_duplicate_does_no_harm(proxy, devnet, evm_address):
    addresses = [evm_address() for _ in range(3)]
    sent = pay(devnet, addresses)
    proxy.hold_blocks.set()  # whoever wins is held mid-batch while the other runs
    start = threading.Barrier(2)
    outcomes: list[dict] = []
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            outcomes.append(scan_network_task.apply(args=("devnet",)).get())
        except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: len(outcomes) == 1 or failures, seconds=30, what="the duplicate to return while the first is mid-batch")
    assert outcomes[0]["skipped"] and outcomes[0]["new_deposits"] == 0  # it returned at once, doing nothing
    proxy.hold_blocks.clear()
    for t in threads:
        t.join(60)

    assert failures == []
    winner = next(o for o in outcomes if not o["skipped"])
    assert winner["ok"] and winner["new_deposits"] == len(sent) and winner["height"] == devnet.head()
    assert deposits(addresses) == sent
    assert Cursor.objects.get(network="devnet").lock_owner == ""


def test_a_scan_whose_lease_lapsed_while_the_node_was_slow_records_nothing_over_the_new_owner(proxy, devnet, evm_address):
    from dataclasses import replace

    from chain import catalogue
    from chain.adapters.evm import EvmAdapter
    from chain.scanner import scan_network

    addresses = [evm_address() for _ in range(3)]
    sent = pay(devnet, addresses)
    proxy.hold_blocks.set()  # the first scan waits on the node (through the proxy)...
    first: list = []
    thread = threading.Thread(target=lambda: (first.append(scan_network("devnet")), connections.close_all()))
    thread.start()
    assert proxy.blocks_in_flight.wait(30)
    Cursor.objects.filter(network="devnet").update(
        locked_until=timezone.now() - timezone.timedelta(seconds=1)
    )  # ...past its lease

    direct = EvmAdapter(replace(catalogue.get("devnet"), rpc_url=devnet.url))  # a second worker reaching the node
    second = scan_network("devnet", adapter=direct)
    assert second.ok and second.new_deposits == len(sent)
    proxy.hold_blocks.clear()  # the first scan's answer finally arrives
    thread.join(60)

    [late] = first
    assert not late.ok and "lost its lease" in late.error and late.new_deposits == 0
    assert deposits(addresses) == sent  # exactly once
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == devnet.head() and cursor.lock_owner == ""


@pytest.mark.slow
def test_redis_restarting_loses_the_queue_but_worker_and_beat_recover_by_themselves(devnet, evm_address, tmp_path):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    celery = Celery(tmp_path, redis_server.url, devnet.url)
    try:
        with celery_running(celery):
            worker, beat = celery.worker(), celery.beat()
            first = [evm_address()]
            sent_first = pay(devnet, first)
            wait_for(lambda: deposits(first) == sent_first, what="a deposit before Redis restarts")

            redis_server.stop()
            second = [evm_address(), evm_address()]
            sent_second = pay(devnet, second, 2 * 10**15)  # paid while nothing can be scheduled
            redis_server.start()  # same port, empty

            wait_for(
                lambda: deposits(second) == sent_second and caught_up(devnet),
                seconds=90,
                what="scanning to resume after Redis restarted",
            )
            third = [evm_address()]
            sent_third = pay(devnet, third, 3 * 10**15)
            wait_for(lambda: deposits(third) == sent_third, what="a deposit after Redis restarted")
            assert worker.poll() is None and beat.poll() is None  # nobody restarted them
            assert deposits(first + second + third) == sorted(sent_first + sent_second + sent_third)
    finally:
        redis_server.stop()


def terminate_database_connections() -> int:
    """Every connection to the test database but this one is cut, as a PostgreSQL restart
    or failover would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        return cursor.fetchone()[0]


@pytest.mark.slow
def test_postgresql_dropping_every_connection_mid_scan_is_survived_without_a_restart(
    proxy, devnet, evm_address, tmp_path, shared_redis
):
    # The default lease (120 s): a scan that dies on a dropped connection must give it back
    # itself, or scanning stops for two minutes and the health page turns stalled.
    celery = Celery(tmp_path, shared_redis, proxy.url)
    with celery_running(celery):
        worker, beat = celery.worker(), celery.beat()
        first = [evm_address()]
        sent_first = pay(devnet, first)
        wait_for(lambda: deposits(first) == sent_first, what="a deposit before the connections drop")

        second = [evm_address(), evm_address()]
        sent_second = pay(devnet, second, 2 * 10**15)
        proxy.blocks_in_flight.clear()
        proxy.hold_blocks.set()
        assert proxy.blocks_in_flight.wait(30), "no scan fetched the new blocks"
        assert terminate_database_connections() >= 1  # the scanning worker's connection is gone mid-batch
        proxy.hold_blocks.clear()
        wait_for(
            lambda: deposits(second) == sent_second and caught_up(devnet), what="scanning to resume after PostgreSQL dropped it"
        )

        terminate_database_connections()  # and again while idle
        third = [evm_address()]
        sent_third = pay(devnet, third, 3 * 10**15)
        wait_for(lambda: deposits(third) == sent_third and caught_up(devnet), what="scanning after the second drop")

        assert worker.poll() is None and beat.poll() is None  # nobody restarted them
        assert deposits(first + second + third) == sorted(sent_first + sent_second + sent_third)
