"""Thin Celery tasks: take a network slug, call the scanner.

No Celery retries: beat sends a scan every poll interval, and a network whose scans fail
waits out `backoff_remaining` (recorded on its cursor) before the node is asked again,
unless `scan_wait`'s liveness probe finds a node that had stopped answering back.
Retries on top of that would pile up while a node is down and, with a node that times
out, tie up worker processes that other networks' scans need."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from chain.scanner import scan_network, scan_wait


@shared_task(acks_late=True)
def scan_network_task(slug: str) -> dict[str, Any]:
    waiting = scan_wait(slug)
    if waiting > 0:
        return {
            "network": slug,
            "ok": False,
            "skipped": True,
            "backoff_seconds": round(waiting, 1),
            "error": "backing off after repeated failures (see the health page)",
        }
    result = scan_network(slug)
    return {
        "network": result.network,
        "ok": result.ok,
        "skipped": result.skipped,
        "head": result.head,
        "height": result.height,
        "blocks": result.blocks,
        "new_deposits": result.new_deposits,
        "orphaned": result.orphaned,
        "error": result.error,
    }
