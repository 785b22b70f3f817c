"""Block processing as it runs: the Celery task and beat schedule (eagerly, and for real
with a worker and beat on Redis), and `manage.py scanloop` for the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from chain import catalogue
from chain.adapters.base import NodeError
from chain.models import Cursor, Deposit
from chain.tasks import scan_network_task
from payram.jobs import scan_jobs
from tests.faults.support import test_database_url
from tests.support.anvil import free_port, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.anvil]


def test_beat_schedules_one_scan_per_enabled_network_at_its_poll_interval(anvil, devnet_rpc):
    devnet_rpc(anvil.url)
    schedule = {name: job.beat_entry() for name, job in scan_jobs().items()}
    entry = schedule["scan-devnet"]
    assert entry["task"] == "chain.tasks.scan_network_task" and entry["args"] == ("devnet",)
    assert entry["schedule"] == catalogue.get("devnet").poll_interval
    assert set(schedule) == {f"scan-{n.slug}" for n in catalogue.enabled()}  # nothing for disabled networks


@pytest.mark.django_db
def test_the_task_records_a_deposit(devnet, evm_address):
    to = evm_address()
    tx = devnet.send_eth(to.address, 31337)

    outcome = scan_network_task.delay("devnet").get()

    assert outcome["ok"] and outcome["new_deposits"] == 1 and outcome["height"] == devnet.head()
    assert list(Deposit.objects.values_list("tx_hash", "value")) == [(tx, 31337)]


def _backoff_elapses(slug: str = "devnet") -> None:
    """As if the wait after the recorded failures had passed."""
    from datetime import timedelta

    from chain.scanner import retry_delay

    cursor = Cursor.objects.get(network=slug)
    if cursor.last_error_at is None:
        return
    wait = retry_delay(catalogue.get(slug).poll_interval, cursor.consecutive_failures)
    Cursor.objects.filter(network=slug).update(last_error_at=cursor.last_error_at - timedelta(seconds=wait + 0.1))


@pytest.mark.django_db
def test_a_failing_node_is_asked_again_after_a_doubling_backoff_not_on_every_tick(devnet, devnet_rpc):
    from chain.scanner import MAX_BACKOFF_SECONDS, backoff_remaining

    interval = catalogue.get("devnet").poll_interval
    devnet_rpc(f"http://127.0.0.1:{free_port()}")

    # The first failure costs nothing: the next tick tries again.
    with pytest.raises(NodeError, match="unreachable"):
        scan_network_task.apply(args=("devnet",)).get()
    assert Cursor.objects.get(network="devnet").consecutive_failures == 1  # no Celery retries piling up
    with pytest.raises(NodeError, match="unreachable"):
        scan_network_task.apply(args=("devnet",)).get()

    # From the second, ticks inside the backoff leave the node alone; the wait doubles.
    waits = []
    for failures in (2, 3, 4):
        cursor = Cursor.objects.get(network="devnet")
        assert cursor.consecutive_failures == failures and "unreachable" in cursor.last_error
        outcome = scan_network_task.apply(args=("devnet",)).get()
        assert outcome["skipped"] and not outcome["ok"] and 0 < outcome["backoff_seconds"] <= interval * 2 ** (failures - 2)
        assert Cursor.objects.get(network="devnet").consecutive_failures == failures  # the node was not asked
        waits.append(backoff_remaining("devnet"))
        _backoff_elapses()
        with pytest.raises(NodeError, match="unreachable"):
            scan_network_task.apply(args=("devnet",)).get()
    assert waits[0] < waits[1] < waits[2] <= MAX_BACKOFF_SECONDS

    # The node comes back: after the wait the scan succeeds and the backoff is gone.
    devnet_rpc(devnet.url)
    _backoff_elapses()
    outcome = scan_network_task.apply(args=("devnet",)).get()
    assert outcome["ok"] and not outcome["skipped"] and backoff_remaining("devnet") == 0
    assert Cursor.objects.get(network="devnet").consecutive_failures == 0


@pytest.mark.django_db
def test_resetscan_lifts_the_backoff_so_the_next_scan_runs_at_once(devnet, devnet_rpc):
    from chain.scanner import backoff_remaining

    devnet_rpc(f"http://127.0.0.1:{free_port()}")
    for _ in range(3):
        _backoff_elapses()
        with pytest.raises(NodeError):
            scan_network_task.apply(args=("devnet",)).get()
    assert backoff_remaining("devnet") > 0
    assert scan_network_task.apply(args=("devnet",)).get()["skipped"]
    devnet_rpc(devnet.url)  # the operator fixed the node URL
    call_command("resetscan", "--network", "devnet")
    assert backoff_remaining("devnet") == 0
    outcome = scan_network_task.apply(args=("devnet",)).get()
    assert outcome["ok"] and not outcome["skipped"]


@pytest.mark.django_db
def test_scanloop_once_scans_every_enabled_network(devnet, evm_address):
    to = evm_address()
    devnet.send_token(to.address, 4_200_000)

    with pytest.raises(SystemExit) as exited:
        call_command("scanloop", "--once")

    assert exited.value.code == 0
    assert [(d.asset, int(d.value)) for d in Deposit.objects.filter(address=to)] == [("USDC", 4_200_000)]


@pytest.mark.django_db
def test_scanloop_logs_a_failing_network_and_exits_1_on_once(devnet, devnet_rpc, caplog):
    devnet_rpc(f"http://127.0.0.1:{free_port()}")

    with pytest.raises(SystemExit) as exited:
        call_command("scanloop", "--once")

    assert exited.value.code == 1
    assert "devnet failed" in caplog.text and "unreachable" in caplog.text
    assert Cursor.objects.get(network="devnet").consecutive_failures == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_and_beat_on_redis_record_a_deposit(devnet, evm_address, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("worker processes cannot share pytest's in-memory SQLite test database; runs on PostgreSQL")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {redis_url} is needed for the Celery test: {exc}")
    redis.Redis.from_url(redis_url).delete("celery")  # no scans queued by an earlier run

    to = evm_address()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": test_database_url(),
        "PAYRAM_RPC_DEVNET": devnet.url,
        "PAYRAM_VAR_DIR": str(tmp_path),
        "DEBUG": "true",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only"),
    }
    celery = [sys.executable, "-m", "celery", "-A", "payram"]
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    with open(worker_log, "wb") as w_out, open(beat_log, "wb") as b_out:
        worker = subprocess.Popen(
            [*celery, "worker", "--pool", "solo", "--loglevel", "INFO", "--hostname", f"scan-test-{os.getpid()}@%h"],
            cwd=ROOT,
            env=env,
            stdout=w_out,
            stderr=subprocess.STDOUT,
        )
        beat = subprocess.Popen(
            [*celery, "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
            cwd=ROOT,
            env=env,
            stdout=b_out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: Cursor.objects.filter(network="devnet", last_success_at__isnull=False).exists(),
            what="a first scan by the worker",
        )
        tx = devnet.send_eth(to.address, 2**70)  # 1180.59 ETH, well past 64 bits

        deposit = wait_for(lambda: Deposit.objects.filter(address=to).first(), what="the deposit to be recorded")
        assert deposit.tx_hash == tx and deposit.block_height == devnet.w3.eth.get_transaction(tx)["blockNumber"]

        devnet.mine(3)
        wait_for(
            lambda: Deposit.objects.filter(address=to, confirmations__gte=catalogue.get("devnet").confirmations).exists(),
            what="the deposit to reach its threshold",
        )
    except AssertionError as exc:
        stop_process(worker)
        stop_process(beat)
        tail = (
            worker_log.read_text(errors="replace")[-3000:] + "\n---- beat ----\n" + beat_log.read_text(errors="replace")[-2000:]
        )
        raise AssertionError(f"{exc}\nworker and beat output:\n{tail}") from None
    finally:
        stop_process(worker)
        stop_process(beat)
