"""Thin Celery tasks: take a network slug, call the scanner."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from chain.adapters.base import NodeError


@shared_task(
    autoretry_for=(NodeError,),
    retry_backoff=2,  # 2, 4, 8 s ... with jitter
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=4,  # beat schedules a fresh scan every poll interval anyway
    acks_late=True,
)
def scan_network_task(slug: str) -> dict[str, Any]:
    from chain.scanner import scan_network

    result = scan_network(slug)
    return {
        "network": result.network, "ok": result.ok, "skipped": result.skipped, "head": result.head,
        "height": result.height, "blocks": result.blocks, "new_deposits": result.new_deposits,
        "orphaned": result.orphaned, "error": result.error,
    }
