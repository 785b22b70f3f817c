"""A real HTTP receiver on 127.0.0.1 (a thread) and a shop that can take quotes."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verifier():
    """verify_payram_signature exactly as docs/webhooks.md prints it (docs/merchant.md repeats it)."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    return namespace["verify_payram_signature"]


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer in turn, then 200
    delay: float = 0.0

    @property
    def types(self) -> list[str]:
        return [r.event["type"] for r in self.requests]


@pytest.fixture
def receiver():
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.requests.append(Received(dict(self.headers), body))
                status = state.answers.pop(0) if state.answers else 200
            if state.delay:
                time.sleep(state.delay)
            reply = b"ok" if status < 300 else b"receiver says no " * 100
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def webhook_settings(settings, monkeypatch):
    """Receivers run on 127.0.0.1, so private addresses are allowed unless a test says not;
    background work runs inline, where the test's transaction is visible."""
    from payram.lib import background

    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = True
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    monkeypatch.setattr(background, "EAGER_IN_THREAD", False)


@pytest.fixture
def shop(project, monkeypatch, settings):
    """The project with an EVM wallet and the devnet enabled (no node is asked)."""
    from tests.links.pay_support import make_shop

    yield from make_shop(project, monkeypatch, settings)


@pytest.fixture
def endpoint(shop, receiver):
    from links.notifications.models import EVENT_TYPES
    from links.notifications.webhooks import endpoint_create

    return endpoint_create(project=shop, url=receiver.url, events=list(EVENT_TYPES))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what was queued for after commit when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
