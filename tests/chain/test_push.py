"""Push wake-ups: the node's own notifications (Bitcoin Core's ZMQ, an EVM node's WebSocket
newHeads) wake the network's scan at once, so with a 60 s poll interval a payment is still
seen within about a second; when the subscription is gone, polling still finds everything.
Real nodes: a real bitcoind with ZMQ on (with BITCOIND), anvil's WebSocket, and a real
scanloop process."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from chain import catalogue
from chain.push import Listener
from tests.support.anvil import free_port, random_address, stop_process, wait_for
from tests.support.bitcoin_core import SKIP_BITCOIND, BitcoindNode

ROOT = Path(__file__).resolve().parents[2]


class Wakes:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.states: list[str] = []
        self.event = threading.Event()

    def wake(self, slug: str) -> None:
        self.times.append(time.monotonic())
        self.event.set()

    def record(self, slug: str, state: str) -> None:
        self.states.append(state)


def _listen(network) -> tuple[Listener, Wakes]:
    wakes = Wakes()
    listener = Listener(network, wakes.wake, record=wakes.record)
    listener.start()
    return listener, wakes


def _woken_within(wakes: Wakes, action, seconds: float = 1.0) -> None:
    wakes.event.clear()
    started = time.monotonic()
    action()
    assert wakes.event.wait(seconds), f"no wake-up within {seconds} s"
    assert wakes.times[-1] - started <= seconds


# -- EVM: anvil's WebSocket ----------------------------------------------------------------


@pytest.mark.anvil
def test_each_new_head_on_anvils_websocket_wakes_the_network(anvil):
    from dataclasses import replace

    network = replace(catalogue.get("devnet"), push_url=anvil.url.replace("http://", "ws://"))
    listener, wakes = _listen(network)
    try:
        assert listener.connected.wait(10) and wakes.states[-1] == "connected"
        _woken_within(wakes, lambda: anvil.mine(1))
        _woken_within(wakes, lambda: anvil.send_eth(random_address(), 1))
    finally:
        listener.stop()
        listener.join(5)
    assert wakes.states[-1] == "stopped"


def test_a_websocket_nobody_serves_is_reported_and_retried(db):
    from dataclasses import replace

    network = replace(catalogue.get("devnet"), push_url=f"ws://127.0.0.1:{free_port()}")
    listener, wakes = _listen(network)
    try:
        wait_for(lambda: wakes.states, seconds=10, what="the failed connection to be reported")
        assert wakes.states[0].startswith("disconnected:") and not listener.connected.is_set()
    finally:
        listener.stop()
        listener.join(5)


def test_push_settings_are_checked_and_shown(monkeypatch):
    monkeypatch.setenv("PAYRAM_RPC_DEVNET", "http://127.0.0.1:8545")
    monkeypatch.setenv("PAYRAM_WS_DEVNET", "ws://127.0.0.1:8545")
    monkeypatch.setenv("PAYRAM_POLL_SECONDS_DEVNET", "60")
    monkeypatch.setenv("PAYRAM_RPC_BITCOIN_REGTEST", "http://u:p@127.0.0.1:18443")
    monkeypatch.setenv("PAYRAM_ZMQ_BITCOIN_REGTEST", "http://127.0.0.1:28332")  # not a ZMQ endpoint
    try:
        catalogue.reload()
        devnet = catalogue.get("devnet")
        assert (devnet.push_url, devnet.poll_interval) == ("ws://127.0.0.1:8545", 60.0)
        errors = catalogue.config_errors()
        assert "PAYRAM_ZMQ_BITCOIN_REGTEST must look like tcp://host:port" in errors["bitcoin-regtest"]
        assert not catalogue.get("bitcoin-regtest").enabled  # said, not silently half-working
        monkeypatch.setenv("PAYRAM_POLL_SECONDS_DEVNET", "soon")
        catalogue.reload()
        assert "PAYRAM_POLL_SECONDS_DEVNET must be seconds" in catalogue.config_errors()["devnet"]
    finally:
        monkeypatch.undo()
        catalogue.reload()


# -- a real scanloop process ---------------------------------------------------------------

SETUP = """
from decimal import Decimal
from chain.models import DepositAddress, Wallet
from links.models import PaymentLink, Quote
from members.models import Member, Project
from django.utils import timezone
from datetime import timedelta

project = Project.objects.create(name="Corner Shop", confirmation_overrides={{"{network}": 2}})
member = Member.objects.create(project=project, email="customer@example.com")
link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"), description="Tea")
wallet = Wallet.objects.create(project=project, family="{family}", xpub="test-xpub-push", script_type="{script}")
address = DepositAddress.objects.create(project=project, wallet=wallet, family="{family}", index=0, address="{address}")
link.deposit_addresses.add(address)
Quote.objects.create(link=link, network="{network}", asset="{asset}", deposit_address=address, amount_due={due},
                     rate=Decimal("1"), rate_source="test", expires_at=timezone.now() + timedelta(minutes=15))
"""


def _scanloop(tmp_path: Path, env: dict[str, str], setup: str) -> tuple[subprocess.Popen, Path]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL") and not k.startswith("PAYRAM_RPC_")},
        "DATABASE_URL": "",
        "PAYRAM_VAR_DIR": str(tmp_path),
        "DEBUG": "true",
        "SECRET_KEY": "test-only",
        **env,
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "shell", "-c", setup], cwd=ROOT, env=env, check=True)
    with open(tmp_path / "scanloop.log", "wb") as log:
        loop = subprocess.Popen([*manage, "scanloop"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return loop, tmp_path / "payram.sqlite3"


def _query(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db, timeout=20) as conn:
        return conn.execute(sql, params).fetchall()


def _link_state(db: Path) -> tuple[str, str]:
    return _query(db, "select status, status_detail from links_paymentlink")[0]


def _push_state(db: Path, network: str) -> str:
    rows = _query(db, "select push_state from chain_cursor where network = ?", network)
    return rows[0][0] if rows else ""


@pytest.mark.slow
@pytest.mark.anvil
def test_with_a_60_s_poll_a_block_is_seen_within_a_second_through_anvils_websocket(anvil, tmp_path):
    address = random_address()
    setup = SETUP.format(network="devnet", family="evm", script="evm", address=address, asset="ETH", due=10**15)
    loop, db = _scanloop(
        tmp_path,
        {
            "PAYRAM_RPC_DEVNET": anvil.url,
            "PAYRAM_START_HEIGHT_DEVNET": str(anvil.head()),
            "PAYRAM_WS_DEVNET": anvil.url.replace("http://", "ws://"),
            "PAYRAM_POLL_SECONDS_DEVNET": "60",
            "PAYRAM_INTERNAL_TRANSFERS_DEVNET": "false",
        },
        setup,
    )
    try:
        wait_for(lambda: _push_state(db, "devnet") == "connected", seconds=30, what="the WebSocket subscription")
        time.sleep(1)  # the first poll is done; the next is a minute away
        sent = time.monotonic()
        anvil.send_eth(address, 10**15)  # mined at once: one new head
        wait_for(lambda: _link_state(db) == ("pending", "confirming"), seconds=30, what="the payment to be seen")
        seen_after = time.monotonic() - sent
        anvil.mine(1)
        wait_for(lambda: _link_state(db) == ("successful", "paid"), seconds=30, what="the second confirmation")
        confirmed_after = time.monotonic() - sent - seen_after
    finally:
        stop_process(loop)
    # A poll would take up to 60 s; push takes a wake-up and a scan (≈1 s; slack for a busy CI).
    assert seen_after < 5 and confirmed_after < 5, (seen_after, confirmed_after)


@pytest.mark.slow
@pytest.mark.anvil
def test_without_its_subscription_polling_still_finds_the_payment(anvil, tmp_path):
    address = random_address()
    setup = SETUP.format(network="devnet", family="evm", script="evm", address=address, asset="ETH", due=10**15)
    loop, db = _scanloop(
        tmp_path,
        {
            "PAYRAM_RPC_DEVNET": anvil.url,
            "PAYRAM_START_HEIGHT_DEVNET": str(anvil.head()),
            "PAYRAM_WS_DEVNET": f"ws://127.0.0.1:{free_port()}",  # the subscription cannot connect
            "PAYRAM_INTERNAL_TRANSFERS_DEVNET": "false",
        },
        setup,
    )
    try:
        wait_for(lambda: _push_state(db, "devnet").startswith("disconnected"), seconds=30, what="the push failure to be shown")
        anvil.send_eth(address, 10**15)
        anvil.mine(2)
        wait_for(lambda: _link_state(db) == ("successful", "paid"), seconds=30, what="polling to find the payment")
    finally:
        stop_process(loop)


@pytest.fixture
def zmq_bitcoind(monkeypatch):
    binary = os.environ.get("BITCOIND", "").strip()
    if not binary:
        pytest.skip(SKIP_BITCOIND)
    datadir = tempfile.mkdtemp(prefix="payram-bitcoind-zmq-")
    zmq_port = free_port()
    node = BitcoindNode(shutil.which(binary) or binary, datadir, extra_args=(f"-zmqpubsequence=tcp://127.0.0.1:{zmq_port}",))
    node.zmq_url = f"tcp://127.0.0.1:{zmq_port}"
    try:
        node.start()
        node.mine(101)
        yield node
    finally:
        node.stop()
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.mark.bitcoind
def test_bitcoin_cores_zmq_wakes_the_network_on_a_mempool_payment_and_on_a_block(zmq_bitcoind):
    from dataclasses import replace

    network = replace(catalogue.get("bitcoin-regtest"), push_url=zmq_bitcoind.zmq_url)
    listener, wakes = _listen(network)
    try:
        assert listener.connected.wait(10)
        time.sleep(0.3)  # the subscription is in place once connected; let it settle
        _woken_within(wakes, lambda: zmq_bitcoind.send(zmq_bitcoind.new_address(), Decimal("0.01")))
        _woken_within(wakes, lambda: zmq_bitcoind.mine(1))
    finally:
        listener.stop()
        listener.join(5)


@pytest.mark.slow
@pytest.mark.bitcoind
def test_with_a_60_s_poll_a_bitcoin_payment_is_seen_and_confirming_within_a_second(zmq_bitcoind, tmp_path):
    from chain.wallets import address_allocate  # noqa: F401 - the address comes from Core's own wallet here

    address = zmq_bitcoind.wallet_rpc.call("getnewaddress")  # any address; payram watches it as its own
    setup = SETUP.format(
        network="bitcoin-regtest", family="bitcoin-regtest", script="p2wpkh", address=address, asset="BTC", due=1_000_000
    )
    loop, db = _scanloop(
        tmp_path,
        {
            "PAYRAM_RPC_BITCOIN_REGTEST": zmq_bitcoind.url,
            "PAYRAM_START_HEIGHT_BITCOIN_REGTEST": str(zmq_bitcoind.height),
            "PAYRAM_ZMQ_BITCOIN_REGTEST": zmq_bitcoind.zmq_url,
            "PAYRAM_POLL_SECONDS_BITCOIN_REGTEST": "60",
        },
        setup,
    )
    try:
        wait_for(lambda: _push_state(db, "bitcoin-regtest") == "connected", seconds=30, what="the ZMQ subscription")
        time.sleep(2)  # the first poll is done; the next is a minute away
        sent = time.monotonic()
        zmq_bitcoind.send(address, Decimal("0.01"))
        wait_for(lambda: _link_state(db) == ("pending", "payment_seen"), seconds=30, what="the mempool payment to be seen")
        seen_after = time.monotonic() - sent
        mined = time.monotonic()
        zmq_bitcoind.mine(1)
        wait_for(lambda: _link_state(db) == ("pending", "confirming"), seconds=30, what="the block to be seen")
        confirming_after = time.monotonic() - mined
    finally:
        stop_process(loop)
    assert seen_after < 5 and confirming_after < 5, (seen_after, confirming_after)
