"""Fixtures for a real anvil EVM node.

- `anvil_node` (session): anvil from npm on 127.0.0.1 and a free port, chain id 31337,
  automine on (every transaction gets its own block; `mine` adds empty ones). The TestUSD
  token is deployed as account 0's first transaction, so it sits at the catalogue's devnet
  token address. Stopped by its own pid.
- `anvil` (function): that node, with PAYRAM_RPC_DEVNET pointing the catalogue at it for
  the test (restored after).
- `devnet` (function, needs the database): the same node, with the devnet Cursor set at the
  current head so a test's scans start right where the test begins.
- `evm_address` (function): a factory making a watched DepositAddress for a project
  (`evm_address()` -> DepositAddress with a fresh random address).
- `devnet_rpc` (function): point the devnet network at another URL for one test.
- `fake_node` (function): a local HTTP server answering whatever a test says (`.respond`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

ANVIL = Path(__file__).resolve().parents[2] / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_address() -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + secrets.token_hex(20))


@dataclass
class Anvil:
    url: str
    process: subprocess.Popen
    w3: object

    # Helpers, thin over chain.devnet so tests read as what they do.
    def head(self) -> int:
        return self.w3.eth.block_number

    def block_hash(self, height: int) -> str:
        return "0x" + bytes(self.w3.eth.get_block(height)["hash"]).hex()

    def send_eth(self, to: str, wei: int, **kw) -> str:
        from chain import devnet

        return devnet.send_eth(self.w3, to, wei, **kw)

    def send_token(self, to: str, units: int, **kw) -> str:
        from chain import devnet

        return devnet.send_token(self.w3, to, units, **kw)

    def mine(self, blocks: int = 1) -> int:
        from chain import devnet

        return devnet.mine(self.w3, blocks)

    def snapshot(self) -> str:
        from chain import devnet

        return devnet.snapshot(self.w3)

    def revert(self, snapshot_id: str) -> None:
        from chain import devnet

        devnet.revert(self.w3, snapshot_id)

    def raw_transaction(self, tx_hash: str) -> str:
        from chain import devnet

        return devnet.raw_transaction(self.w3, tx_hash)

    def send_raw(self, raw: str) -> str:
        from chain import devnet

        return devnet.send_raw(self.w3, raw)


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"anvil exited with {process.returncode}: {process.stderr.read().decode()[-500:] if process.stderr else ''}"
            )
        try:
            if requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError("anvil did not start within 30 s")


def start_anvil(*, port: int | None = None) -> Anvil:
    """Start a fresh anvil, deploy the test token, return it (the caller stops it)."""
    from chain import devnet
    from chain.catalogue import DEVNET_TOKEN_ADDRESS

    if not ANVIL.exists():
        pytest.fail(f"anvil is not installed at {ANVIL}: run `npm ci` (bin/test does)")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(url, process)
        w3 = devnet.connect(url)
        assert devnet.deploy_token(w3) == DEVNET_TOKEN_ADDRESS
    except BaseException:
        stop_process(process)
        raise
    return Anvil(url=url, process=process, w3=w3)


def wait_for(condition, *, seconds: float = 60, what: str = "condition"):
    """Poll `condition` until it returns something truthy (returned), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"gave up waiting for {what} after {seconds:g} s")


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process this test session started, by its own pid: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def anvil_node():
    """One anvil for the whole session (started on first use, stopped by its pid at the end)."""
    node = start_anvil()
    try:
        yield node
    finally:
        stop_process(node.process)


@pytest.fixture
def anvil(anvil_node):
    """The session's anvil, with PAYRAM_RPC_DEVNET pointing the catalogue's devnet at it for
    this test only: tests that do not ask for it see the devnet disabled."""
    from chain import catalogue

    previous = os.environ.get("PAYRAM_RPC_DEVNET")
    os.environ["PAYRAM_RPC_DEVNET"] = anvil_node.url
    catalogue.reload()
    try:
        yield anvil_node
    finally:
        if previous is None:
            os.environ.pop("PAYRAM_RPC_DEVNET", None)
        else:
            os.environ["PAYRAM_RPC_DEVNET"] = previous
        catalogue.reload()


@pytest.fixture
def devnet(anvil, db):
    """anvil, with the catalogue pointing at it and the devnet cursor at its current head."""
    from chain.models import Cursor, ScannedBlock

    head = anvil.head()
    head_hash = anvil.block_hash(head)
    Cursor.objects.update_or_create(network="devnet", defaults={"height": head, "block_hash": head_hash})
    ScannedBlock.objects.update_or_create(network="devnet", height=head, defaults={"block_hash": head_hash, "parent_hash": ""})
    return anvil


@pytest.fixture
def evm_address(project):
    """Factory: a watched EVM deposit address of `project` (fresh random address unless given)."""
    from chain.models import DepositAddress, Wallet

    def make(address: str | None = None, *, of_project=None) -> DepositAddress:
        owner = of_project or project
        wallet, _ = Wallet.objects.active().get_or_create(
            project=owner, family="evm", defaults={"xpub": f"test-xpub-{owner.pk}", "script_type": "evm"}
        )
        index = wallet.next_index
        wallet.next_index = index + 1
        wallet.save(update_fields=["next_index"])
        return DepositAddress.objects.create(
            project=owner, wallet=wallet, family="evm", index=index, address=address or random_address(), purpose="test"
        )

    return make


@pytest.fixture
def devnet_rpc():
    """Factory: point the catalogue's devnet network at another RPC URL for one test; the
    previous URL (and the catalogue) is restored afterwards."""
    from chain import catalogue

    previous = os.environ.get("PAYRAM_RPC_DEVNET")

    def point(url: str) -> None:
        os.environ["PAYRAM_RPC_DEVNET"] = url
        catalogue.reload()

    yield point
    if previous is None:
        os.environ.pop("PAYRAM_RPC_DEVNET", None)
    else:
        os.environ["PAYRAM_RPC_DEVNET"] = previous
    catalogue.reload()


class FakeNode:
    """A local HTTP server; `respond(request_json)` decides each answer."""

    def __init__(self) -> None:
        # an answer: body, (status, body) or (status, body, extra headers)
        self.respond: Callable[[object], bytes | tuple] = lambda req: b"{}"
        self.requests: list[object] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.requests.append(body)
                answer = node.respond(body)
                status, payload, *headers = answer if isinstance(answer, tuple) else (200, answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, auth: str = "") -> str:
        return f"http://{auth + '@' if auth else ''}127.0.0.1:{self.port}/rpc"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_node():
    """A local HTTP server standing in for a node that answers badly: set `.respond`."""
    node = FakeNode()
    yield node
    node.close()
