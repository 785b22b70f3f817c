"""Fault injection for tests/faults: a proxy in front of a node that can be cut, slowed or
made to answer garbage; anvil and redis-server processes a test owns (so it may stop and
restart them); a real Celery worker and beat started as process groups (so SIGKILL takes
the whole worker, as a crashed container would)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import requests
from django.db import connection

from tests.support.anvil import ANVIL, _wait_until_up, free_port, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]


class RpcProxy:
    """A local HTTP proxy in front of `upstream`. `mode` decides every answer:
    pass      forward as is
    down      close the connection without an answer (the node is gone)
    slow      wait `delay` seconds, then forward (past the client's timeout if longer)
    error     a JSON-RPC error object for every call
    malformed a truncated JSON body with HTTP 200
    `hold_blocks` (an Event) set: requests fetching blocks wait until it is cleared, with
    `blocks_in_flight` set while they wait, so a test can act mid-batch. With
    `only_blocks`, the mode applies to block fetches only (the chain id and head are
    answered truly), so the bad answer arrives in the middle of a scan."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.delay = 0.0
        self.hold_blocks = threading.Event()
        self.blocks_in_flight = threading.Event()
        self.only_blocks = False
        self.answered: list[str] = []  # mode of each answer given
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fetching_blocks = b"eth_getBlockByNumber" in body and b"true" in body.replace(b" ", b"")
                mode = proxy.mode if fetching_blocks or not proxy.only_blocks else "pass"
                proxy.answered.append(mode)
                if mode == "down":
                    self.close_connection = True
                    return
                if fetching_blocks:
                    while proxy.hold_blocks.is_set():
                        proxy.blocks_in_flight.set()
                        time.sleep(0.05)
                if mode == "slow":
                    time.sleep(proxy.delay)
                if mode == "error":
                    calls = json.loads(body)

                    def one(c):
                        return {"jsonrpc": "2.0", "id": c.get("id"), "error": {"code": -32603, "message": "header not found"}}

                    payload = json.dumps([one(c) for c in calls] if isinstance(calls, list) else one(calls)).encode()
                elif mode == "malformed":
                    payload = b'{"jsonrpc":"2.0","id":1,"result":{"number":"0x1'
                else:
                    try:
                        upstream = requests.post(
                            proxy.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30
                        )
                    except requests.RequestException:
                        self.close_connection = True
                        return
                    payload = upstream.content
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.hold_blocks.clear()
        self.server.shutdown()
        self.server.server_close()


class StatefulAnvil:
    """An anvil this test owns, on a fixed port, that keeps its chain across a stop and a
    restart (--dump-state on exit, --load-state on start): a node that goes away and comes back."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = state
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = [
            str(ANVIL),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            "31337",
            "--silent",
            "--dump-state",
            str(self.state),
        ]
        if self.state.exists():
            args += ["--load-state", str(self.state)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_until_up(self.url, self.process)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)  # SIGTERM: anvil writes its state, then exits
            self.process = None


class RedisServer:
    """A redis-server of this test's own, on a free port, without persistence: a restart
    loses every queued message, the worst case for the broker."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_for(lambda: _pings(redis, self.url), seconds=10, what="redis-server to start")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)
            self.process = None


def _pings(redis, url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Celery:
    """A real Celery worker (and optionally beat) against `redis_url` and pytest's
    PostgreSQL test database, each in its own process group."""

    def __init__(self, tmp_path: Path, redis_url: str, rpc_url: str, *, extra_env: dict[str, str] | None = None) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATABASE_URL": test_database_url(),
            "PAYRAM_RPC_DEVNET": rpc_url,
            "PAYRAM_VAR_DIR": str(tmp_path),
            "DEBUG": "true",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only"),
            **(extra_env or {}),
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.started = 0

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        self.started += 1
        with open(self.tmp_path / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "payram", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def worker(self, name: str = "worker", *, concurrency: int = 1) -> subprocess.Popen:
        pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork", "--concurrency", str(concurrency)]
        return self._spawn(
            name,
            [
                "worker",
                *pool,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{name}-{os.getpid()}-{self.started}@%h",
            ],
        )

    def beat(self) -> subprocess.Popen:
        return self._spawn("beat", ["beat", "--loglevel", "INFO", "--schedule", str(self.tmp_path / "beat-schedule")])

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: no cleanup, no lease released, no ack sent."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                except ProcessLookupError:
                    pass

    def logs(self) -> str:
        return "\n".join(
            f"---- {p.name} ----\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(self.tmp_path.glob("*.log"))
        )


@contextmanager
def celery_running(celery: Celery):
    """Stop every process on the way out; on a failed assertion, show their logs."""
    try:
        yield celery
    except AssertionError as exc:
        celery.stop_all()
        raise AssertionError(f"{exc}\n{celery.logs()}") from None
    finally:
        celery.stop_all()
