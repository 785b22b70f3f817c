"""Web figures. In process (Django's test client): requests per second, p95 and SQL queries
per request of the pay page's status endpoint (the htmx poll, nothing changed: 204; the
full fragment), the pay page and All Payments, at two sizes. Under gunicorn (2 sync
workers) with wrk: the same pages divided by a trivial view through the same middleware."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.latency import p95


@dataclass
class WebFigures:
    name: str
    rows: int
    rps: float
    p95_ms: float
    queries: int


def measure(client, name: str, rows: int, url: str, *, seconds: float, expect: int, **extra) -> WebFigures:
    from django.db import connection

    # Counted by a wrapper, not CaptureQueriesContext: request_started clears the query log.
    # The most common count of 5 requests: the poll asks the network's health at most once
    # a second (links.pay_views.HEALTH_MEMO_SECONDS), so one request in many asks once more.

    counts = []
    for _ in range(5):
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url, **extra)
        if response.status_code != expect:
            raise RuntimeError(f"{name}: {url} answered HTTP {response.status_code}, expected {expect}")
        counts.append(len(queries))
    usual = max(collections.Counter(counts).most_common(), key=lambda pair: (pair[1], pair[0]))[0]
    times = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or len(times) < 5:
        t = time.perf_counter()
        client.get(url, **extra)
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return WebFigures(name, rows, len(times) / elapsed, p95(times) * 1000, usual)


# -- under gunicorn, measured with wrk -----------------------------------------------------
# The in-process figures above compare the app with itself at two sizes. These compare each
# page with a trivial view ("ok", bench/urls.py) through the same middleware, served the way
# production serves them: gunicorn sync workers on the bench's database, wrk on the loopback.

WORKERS = 2
CONNECTIONS = 8


@dataclass
class WrkFigures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def wrk_path() -> str | None:
    return shutil.which("wrk")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(name: str, url: str, *, seconds: float, headers: dict[str, str], threads: int = 2) -> WrkFigures:
    """One wrk run: requests/s, p50 and p99 from its latency distribution."""
    command = [wrk_path(), f"-t{threads}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True)
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))
    found = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkFigures(name, rps, p50, p99, int(found.group(1)) if found else 0)


class Gunicorn:
    """gunicorn serving bench.settings (the app plus /bench/ok) with sync workers on the
    bench's database; stopped by its own pid."""

    def __init__(self, *, workers: int = WORKERS) -> None:
        from bench.env import ROOT, free_port

        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "false"}
        env.setdefault("SECRET_KEY", "bench-only-secret-key")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [str(gunicorn), "payram.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.process.stderr.read()[-2000:]}")
            try:
                if requests.get(self.base + "/bench/ok", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def check_answer(base: str, path: str, headers: dict[str, str], expect: int) -> None:
    response = requests.get(base + path, headers=headers, timeout=30, allow_redirects=False)
    if response.status_code != expect:
        raise RuntimeError(f"{path} answered HTTP {response.status_code} under gunicorn, expected {expect}")


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())
