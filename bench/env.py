"""Where a benchmark run happens: its own database (never the one DATABASE_URL names for
the app or the tests), Django set up on it, and a fresh anvil it starts and stops."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/payram_bench"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def _create_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    server = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str) -> str:
    """Point Django at the bench database (created if missing), migrate it and empty it.
    An empty `database_url` (or "sqlite") means a throw-away SQLite file. Returns the
    engine's name."""
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payram.settings")
    os.environ.pop("REDIS_URL", None)
    if is_postgres(database_url):
        _create_database(database_url)
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ["DATABASE_URL"] = ""
        os.environ["PAYRAM_VAR_DIR"] = tempfile.mkdtemp(prefix="payram-bench-")
    import django
    from django.conf import settings

    django.setup()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The bench asks far more often than a browser: limits stay checked (their cost is
    # part of a request) but never refuse; mail goes nowhere.
    from payram.lib import ratelimit

    settings.PAYRAM_RATE_LIMITS = {name: (10**9, seconds) for name, (_count, seconds) in ratelimit.DEFAULT_LIMITS.items()}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from django.db import connection

    return connection.vendor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    """A fresh anvil (chain id 31337) on a free port, with raw JSON-RPC helpers."""

    url: str
    process: subprocess.Popen
    session: requests.Session = field(default_factory=requests.Session)
    _id: int = 0

    def rpc(self, method: str, params: list | None = None):
        self._id += 1
        answer = self.session.post(
            self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}, timeout=60
        ).json()
        if answer.get("error"):
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def rpc_batch(self, calls: list[tuple[str, list]]) -> list:
        payload = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answers = json.loads(self.session.post(self.url, json=payload, timeout=120).content)
        errors = [a["error"] for a in answers if a.get("error")]
        if errors:
            raise RuntimeError(f"batch refused: {errors[:3]}")
        return [a["result"] for a in sorted(answers, key=lambda a: a["id"])]

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block_hash(self, height: int) -> str:
        return self.rpc("eth_getBlockByNumber", [hex(height), False])["hash"].lower()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_anvil() -> Node:
    """Start anvil and deploy the devnet token at the catalogue's address (account 0's
    first transaction). The caller stops it (Node.stop, by its own pid)."""
    if not ANVIL.exists():
        raise SystemExit(f"anvil is not installed at {ANVIL}: run `npm ci`")
    port = free_port()
    process = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    node = Node(url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"anvil exited with {process.returncode}")
            try:
                node.rpc("eth_chainId")
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("anvil did not start within 30 s") from None
                time.sleep(0.1)
        from chain import devnet

        devnet.deploy_token(devnet.connect(node.url))
    except BaseException:
        node.stop()
        raise
    return node
