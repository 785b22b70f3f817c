"""The embedded default's `manage.py scanloop` keeps watching the chain while its
housekeeping (email and webhook retries, link expiry) is stuck on a mail server that
accepts connections and never answers: a real scanloop process, SQLite, anvil."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.anvil import random_address, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from chain.models import DepositAddress, Wallet
from links.notifications.models import OutboundEmail
from links.models import PaymentLink
from members.models import Member, Project

project = Project.objects.create(name="Corner Shop")
member = Member.objects.create(project=project, email="customer@example.com")
link = PaymentLink.objects.create(project=project, member=member, amount=Decimal("5.00"), description="Tea")
OutboundEmail.objects.create(
    link=link, kind="link_to_member", recipients=["customer@example.com"], from_email="shop@example.com",
    subject="Payment request", text="Pay here", html="", next_attempt_at=timezone.now() - timedelta(seconds=1),
)
wallet = Wallet.objects.create(project=project, family="evm", xpub="test-xpub-scanloop", script_type="evm")
link.deposit_addresses.add(DepositAddress.objects.create(project=project, wallet=wallet, family="evm", index=0, address="{address}"))
"""


class SilentMailServer:
    """Accepts SMTP connections and never sends its greeting: a client waits for its timeout."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.mark.slow
def test_a_hanging_mail_server_does_not_delay_payment_detection(anvil, tmp_path):
    mail = SilentMailServer()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "DATABASE_URL": "",
        "PAYRAM_VAR_DIR": str(tmp_path),
        "PAYRAM_RPC_DEVNET": anvil.url,
        "PAYRAM_START_HEIGHT_DEVNET": str(anvil.head()),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail.port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_TIMEOUT": "120",  # the stuck try outlasts the whole test
        "DEBUG": "true",
        "SECRET_KEY": "test-only",
    }
    manage = [sys.executable, "manage.py"]
    address = random_address()
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "shell", "-c", SETUP.replace("{address}", address)], cwd=ROOT, env=env, check=True)
    db = tmp_path / "payram.sqlite3"

    def deposits() -> list[tuple[str, str]]:
        with sqlite3.connect(db, timeout=20) as conn:
            return conn.execute(
                "select d.tx_hash, d.value from chain_deposit d join chain_depositaddress a on a.id = d.address_id where a.address = ?",
                (address,),
            ).fetchall()

    with open(tmp_path / "scanloop.log", "wb") as log:
        loop = subprocess.Popen([*manage, "scanloop"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: mail.connections, seconds=30, what="the email sweep to reach the silent mail server")
        tx = anvil.send_eth(address, 10**15)  # mined at once, while the sweep waits for a greeting
        sent_at = time.monotonic()
        [(tx_hash, value)] = wait_for(deposits, seconds=20, what="the payment to be recorded while the sweep hangs")
        assert (tx_hash, int(value)) == (tx, 10**15)
        assert time.monotonic() - sent_at < 10  # a poll interval (2 s) and a scan, not the mail timeout
        with sqlite3.connect(db, timeout=20) as conn:
            [(status, attempts)] = conn.execute("select status, attempts from links_outboundemail").fetchall()
        assert (status, attempts) == ("queued", 0)  # still stuck in its first try
    finally:
        stop_process(loop)
        mail.close()
    assert loop.returncode == 0  # SIGTERM stops it cleanly despite the stuck thread
    assert not (tmp_path / "scanloop.pid").exists()
