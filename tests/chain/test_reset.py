"""The reset: clearing stale scan locks, rewinding a cursor, restarting block processing.
First `manage.py resetscan` in-process, then bin/reset-scanning end to end under the
embedded default (SQLite file, a real `manage.py scanloop` process, anvil)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chain.models import Cursor, Deposit, ScannedBlock
from chain.scanner import DeepReorg, claim_lease, scan_network
from tests.support.anvil import stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.anvil]


def resetscan(*args: str) -> str:
    out = StringIO()
    call_command("resetscan", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_clearing_a_dead_workers_lock_lets_scanning_resume(devnet, evm_address):
    to = evm_address()
    devnet.send_eth(to.address, 77)
    assert claim_lease("devnet", "crashed-worker")
    Cursor.objects.filter(network="devnet").update(locked_until=timezone.now() + timedelta(days=1))
    assert scan_network("devnet").skipped

    assert "cleared 1 scan lock(s)" in resetscan()

    assert scan_network("devnet").ok
    assert [int(d.value) for d in Deposit.objects.filter(address=to)] == [77]


@pytest.mark.django_db
def test_rewinding_rescans_without_recording_anything_twice(devnet, evm_address):
    to = evm_address()
    devnet.send_token(to.address, 123)
    devnet.mine(3)
    scan_network("devnet")
    deposit = Deposit.objects.get(address=to)

    out = resetscan("--network", "devnet", "--height", str(deposit.block_height - 2))

    assert f"scanning resumes at block {deposit.block_height - 1}" in out
    assert Cursor.objects.get(network="devnet").height == deposit.block_height - 2
    result = scan_network("devnet")
    assert result.blocks == devnet.head() - deposit.block_height + 2 and result.new_deposits == 0
    again = Deposit.objects.get(address=to)
    assert (again.id, again.block_hash, again.orphaned) == (deposit.id, deposit.block_hash, False)


@pytest.mark.django_db
def test_recheck_orphans_deposits_above_the_height_until_the_rescan_finds_them(devnet, evm_address):
    to = evm_address()
    devnet.send_eth(to.address, 5)
    scan_network("devnet")
    height = Deposit.objects.get(address=to).block_height

    resetscan("--network", "devnet", "--height", str(height - 1), "--recheck")
    assert Deposit.objects.get(address=to).orphaned

    scan_network("devnet")
    assert not Deposit.objects.get(address=to).orphaned
    assert not ScannedBlock.objects.filter(network="devnet", height__gt=devnet.head()).exists()


@pytest.mark.django_db
def test_bad_reset_requests_are_refused_with_a_reason(devnet):
    scan_network("devnet")
    head = Cursor.objects.get(network="devnet").height
    with pytest.raises(CommandError, match="would skip blocks"):
        resetscan("--network", "devnet", "--height", str(head + 10))
    with pytest.raises(CommandError, match="--height needs --network"):
        resetscan("--height", "3")
    with pytest.raises(CommandError, match="unknown network 'nope'"):
        resetscan("--network", "nope", "--height", "3")
    assert Cursor.objects.get(network="devnet").height == head


@pytest.mark.django_db
def test_a_node_restarted_on_a_brand_new_chain_is_scanned_again_after_a_reset_to_0(devnet_rpc, evm_address):
    """A devnet whose state was lost restarts from a new genesis: every block hash payram
    kept belongs to a chain that no longer exists. `--height 0` forgets them all, the old
    genesis included, and scanning follows the new chain."""
    from tests.support.anvil import free_port, start_anvil

    port = free_port()
    old = start_anvil(port=port)
    try:
        devnet_rpc(old.url)
        scan_network("devnet")
        before = evm_address()
        old.send_eth(before.address, 11)
        old.mine(4)
        assert scan_network("devnet").ok and Deposit.objects.filter(address=before).exists()
        old_genesis = old.block_hash(0)
    finally:
        stop_process(old.process)
    time.sleep(1.1)  # anvil's genesis carries its start time: a new second, a new chain
    new = start_anvil(port=port)
    try:
        assert new.block_hash(0) != old_genesis
        new.mine(2)
        with pytest.raises(DeepReorg, match="forks below"):
            scan_network("devnet")

        out = resetscan("--network", "devnet", "--height", "0", "--recheck")
        assert "scanning resumes at block 1" in out
        assert Deposit.objects.get(address=before).orphaned  # its chain is gone

        after = evm_address()
        new.send_eth(after.address, 22)
        result = scan_network("devnet")
        assert result.ok, Cursor.objects.get(network="devnet").last_error
        assert [int(d.value) for d in Deposit.objects.filter(address=after)] == [22]
        assert Cursor.objects.get(network="devnet").block_hash == new.block_hash(new.head())
        assert scan_network("devnet").ok  # and it keeps following the new chain
    finally:
        stop_process(new.process)


# -- bin/reset-scanning under the embedded default, end to end ----------------------------


@pytest.mark.slow
def test_reset_script_under_the_embedded_default(anvil, tmp_path):
    """A crashed scanner left its lock on an SQLite install; the script clears it and wakes
    the running scanloop, which resumes; a rewind is rescanned back to the head."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DATABASE_URL": "",
        "PAYRAM_VAR_DIR": str(tmp_path),
        "PAYRAM_RPC_DEVNET": anvil.url,
        "PAYRAM_START_HEIGHT_DEVNET": str(anvil.head()),
        "DEBUG": "true",
        "SECRET_KEY": "test-only",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    db = tmp_path / "payram.sqlite3"

    def cursor() -> dict:
        with sqlite3.connect(db, timeout=20) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("select * from chain_cursor where network = 'devnet'").fetchone()
            return dict(row) if row else {}

    with sqlite3.connect(db) as conn:  # the crashed worker's lease, a day long
        conn.execute(
            "insert into chain_cursor (network, block_hash, last_error, consecutive_failures, lock_owner, locked_until)"
            " values ('devnet', '', '', 0, 'crashed-worker', datetime('now', '+1 day'))"
        )

    with open(tmp_path / "scanloop.log", "wb") as log:
        loop = subprocess.Popen([*manage, "scanloop"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (tmp_path / "scanloop.pid").exists(), what="the scanloop to start")
        time.sleep(1)  # a few polls, all skipped: the lock is held
        assert cursor()["height"] is None and cursor()["lock_owner"] == "crashed-worker"

        reset = subprocess.run([str(ROOT / "bin" / "reset-scanning")], cwd=ROOT, env=env, capture_output=True, text=True)
        assert reset.returncode == 0, reset.stderr
        assert "cleared 1 scan lock(s)" in reset.stdout and f"scanloop (pid {loop.pid}) told to" in reset.stdout

        head = anvil.mine(2)
        wait_for(lambda: (cursor().get("height") or 0) >= head, what="scanning to resume after the reset")

        rewind_to = head - 5
        reset = subprocess.run(
            [str(ROOT / "bin" / "reset-scanning"), "--network", "devnet", "--height", str(rewind_to)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert reset.returncode == 0, reset.stderr
        assert f"cursor rewound from {head} to {rewind_to}" in reset.stdout
        head = anvil.mine(1)
        wait_for(lambda: (cursor().get("height") or 0) >= head, what="the rewound cursor to catch up")
        with sqlite3.connect(db) as conn:
            kept = [h for (h,) in conn.execute("select height from chain_scannedblock where network='devnet' order by height")]
        assert kept == list(range(kept[0], head + 1))  # every block from the rewind on, none skipped
        assert kept[0] <= rewind_to + 1
    finally:
        stop_process(loop)  # SIGTERM: the scanloop gives its lease back and removes its pid file
    assert not (tmp_path / "scanloop.pid").exists()  # a clean stop removes its pid file


def test_reset_script_under_compose_stops_resets_and_starts_worker_and_beat(tmp_path):
    """docker compose itself is not available here: a stand-in records what the script asks
    of it, in order. A failing reset still starts the services again."""
    calls = tmp_path / "calls"
    stub = tmp_path / "compose"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *resetscan*--height\\ 999*) exit 3;; esac\n')
    stub.chmod(0o755)
    env = {**os.environ, "DOCKER_COMPOSE": str(stub)}
    script = str(ROOT / "bin" / "reset-scanning")

    done = subprocess.run([script, "--compose", "--network", "base", "--height", "123"], env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert calls.read_text().splitlines() == [
        "stop worker beat",
        "run --rm web python manage.py resetscan --network base --height 123",
        "up -d worker beat",
    ]

    calls.unlink()
    failed = subprocess.run(
        [script, "--compose", "--network", "base", "--height", "999"], env=env, capture_output=True, text=True
    )
    assert failed.returncode == 3
    assert calls.read_text().splitlines()[-1] == "up -d worker beat"


def test_reset_script_refuses_unknown_options(tmp_path):
    done = subprocess.run([str(ROOT / "bin" / "reset-scanning"), "--hieght", "5"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown option --hieght" in done.stderr
