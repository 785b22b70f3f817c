"""A latency-injecting HTTP proxy: every request waits `delay` seconds, then goes to the
node, as if the node were a hosted one that far away. Keep-alive on both sides; one
thread per client connection, so concurrent requests are delayed concurrently."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import requests


class LatencyProxy:
    def __init__(self, upstream: str, delay: float) -> None:
        local = threading.local()
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                session = getattr(local, "session", None)
                if session is None:
                    session = local.session = requests.Session()
                proxy.requests += 1
                answer = session.post(upstream, data=body, headers={"Content-Type": "application/json"}, timeout=300)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
