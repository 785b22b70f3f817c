"""Requests per second, p95 and SQL queries per request of the pay page's status endpoint
(the htmx poll, nothing changed: 204; and the full fragment) and of All Payments."""

from __future__ import annotations

import time
from dataclasses import dataclass

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
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url, **extra)
    if response.status_code != expect:
        raise RuntimeError(f"{name}: {url} answered HTTP {response.status_code}, expected {expect}")
    times = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or len(times) < 5:
        t = time.perf_counter()
        client.get(url, **extra)
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return WebFigures(name, rows, len(times) / elapsed, p95(times) * 1000, len(queries))
