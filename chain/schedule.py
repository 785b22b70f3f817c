"""Celery beat's schedule: one scan entry per enabled network, at its poll interval."""

from __future__ import annotations

from typing import Any

SCAN_TASK = "chain.tasks.scan_network_task"


def beat_schedule() -> dict[str, dict[str, Any]]:
    from chain.health import configured_networks

    enabled, _errors = configured_networks()  # broken networks are reported by health, not scheduled
    return {
        f"scan-{net.slug}": {
            "task": SCAN_TASK,
            "schedule": net.poll_interval,
            "args": (net.slug,),
            # A scan not started by the next tick is superseded by that tick's.
            "options": {"expires": max(net.poll_interval, 2.0)},
        }
        for net in enabled
    }
