"""Is each network being watched? Per enabled network: the node's head, the last block
processed, the lag, the last successful scan, the last error, and `stalled`, the flag for
"deposit addresses look blank because blocks are not being processed".

Configuration problems (malformed RPC URL, wrong chain id, unreachable node) are reported
per network and never stop the others. Models are imported inside functions: Celery beat
builds its schedule from configured_networks() before Django's apps are loaded.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from chain import catalogue
from chain.adapters import adapter_for
from chain.adapters.base import NodeError
from chain.catalogue import Network
from payram.lib.env import ConfigError

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300  # a failing network is retried at least this often


def retry_delay(poll_interval: float, failures: int) -> float:
    """How long to wait after `failures` failed scans in a row: nothing after one (a blip
    costs nothing: the next tick retries), then one poll interval, doubling with each
    further failure, capped at MAX_BACKOFF_SECONDS."""
    if failures <= 1:
        return 0.0
    return min(poll_interval * 2 ** min(failures - 2, 16), MAX_BACKOFF_SECONDS)


STALL_MIN_SECONDS = 120
STALL_POLLS = 5
LAG_MAX_SECONDS = 600  # more than ten minutes of blocks behind is stalled, whatever the cause


@dataclass(frozen=True)
class NetworkHealth:
    slug: str
    name: str
    rpc: str  # redacted: safe to show
    node_head: int | None = None
    height: int | None = None  # last block processed
    last_success_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None  # while failing scans back off (retry_delay)
    stalled: bool = True
    problem: str = ""  # why it is stalled, in words
    poll_interval: float = 0.0  # seconds between polls (PAYRAM_POLL_SECONDS_<SLUG> overrides)
    push: str = ""  # push wake-ups: "" (none configured), "connected", "disconnected: why", "not started"
    tracing: str = ""  # what tracing internal transfers cost in the last scan that traced, in words

    @property
    def push_label(self) -> str:
        return {"": "off", "connected": "connected"}.get(self.push, self.push)

    @property
    def lag(self) -> int | None:
        if self.node_head is None or self.height is None:
            return None
        return max(0, self.node_head - self.height)

    @property
    def status(self) -> str:
        if self.stalled:
            return "stalled"
        return "errors" if self.last_error else "ok"


def stall_after(network: Network) -> timedelta:
    return timedelta(seconds=max(STALL_POLLS * network.poll_interval, STALL_MIN_SECONDS))


def lag_bound(network: Network) -> int:
    """Blocks behind the head that count as stalled: ten minutes of blocks, at least 3."""
    return max(3, math.ceil(LAG_MAX_SECONDS / max(network.block_time, 0.1)))


def configured_networks() -> tuple[list[Network], dict[str, str]]:
    """The enabled networks, and configuration errors by network slug ("*" for the chains
    file). A broken network is left out; the others go on."""
    return catalogue.enabled(), catalogue.config_errors()


def network(slug: str) -> Network:
    """One enabled network, even when another network's configuration is broken. Raises
    ConfigError for this network's own problem, KeyError for an unknown slug."""
    enabled, errors = configured_networks()
    if slug in errors:
        raise ConfigError(errors[slug])
    for net in enabled:
        if net.slug == slug:
            return net
    if "*" in errors:
        raise ConfigError(errors["*"])
    return catalogue.get(slug)  # known but not enabled (or unknown: KeyError)


def _trace_cost_file(slug: str):
    return settings.VAR_DIR / "trace-cost" / f"{slug}.json"


def record_trace_cost(slug: str, *, method: str, blocks: int, seconds: float, scan_seconds: float) -> None:
    """Keep what tracing cost in a scan, for the health page: in the cache with Redis
    (shared by workers and web), else in a file beside the SQLite database (scanloop and
    the web server on one host). Never fails a scan."""
    cost = {"method": method, "blocks": blocks, "seconds": seconds, "scan_seconds": scan_seconds}
    try:
        if settings.REDIS_URL:
            cache.set(f"payram:trace-cost:{slug}", cost, timeout=7 * 86400)
        else:
            path = _trace_cost_file(slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(cost))
    except Exception as exc:  # the cost is shown, never needed
        logger.warning("%s: could not keep the tracing cost (%s)", slug, exc)


def trace_cost_text(slug: str) -> str:
    try:
        if settings.REDIS_URL:
            cost = cache.get(f"payram:trace-cost:{slug}")
        else:
            path = _trace_cost_file(slug)
            cost = json.loads(path.read_text()) if path.exists() else None
    except Exception:
        return ""
    if not cost or not cost.get("blocks"):
        return ""
    per_block = 1000 * cost["seconds"] / cost["blocks"]
    share = cost["seconds"] / cost["scan_seconds"] if cost.get("scan_seconds") else 0.0
    return f"{cost['method']}, {per_block:.0f} ms per traced block, {share:.0%} of the last scan's time"


def _health(net: Network, cursor, now: datetime) -> NetworkHealth:
    push = ""
    if net.push_url:
        push = (cursor.push_state if cursor is not None else "") or "not started: is scanloop or pushlisten running?"
    tracing = trace_cost_text(net.slug) if net.internal_transfers else ""
    base = NetworkHealth(
        slug=net.slug, name=net.name, rpc=net.display_rpc_url, poll_interval=net.poll_interval, push=push, tracing=tracing
    )
    if cursor is None:
        return replace(base, problem="never scanned: is a worker (or manage.py scanloop) running?")
    health = replace(
        base,
        node_head=cursor.node_head,
        height=cursor.height,
        last_success_at=cursor.last_success_at,
        last_error=cursor.last_error,
        last_error_at=cursor.last_error_at,
        consecutive_failures=cursor.consecutive_failures,
    )
    if cursor.consecutive_failures and cursor.last_error_at:
        wait = retry_delay(net.poll_interval, cursor.consecutive_failures)
        if wait:
            health = replace(health, next_attempt_at=cursor.last_error_at + timedelta(seconds=wait))
    if cursor.last_success_at is None:
        problem = "no successful scan yet" + (": the node fails (see the last error)" if cursor.last_error else "")
    elif now - cursor.last_success_at > stall_after(net):
        problem = f"no successful scan for {_ago(now - cursor.last_success_at)}" + (
            ": the node fails (see the last error)" if cursor.last_error else ""
        )
    elif health.lag is not None and health.lag > lag_bound(net):
        problem = f"{health.lag} blocks behind the node (more than {lag_bound(net)})"
    else:
        return replace(health, stalled=False)
    return replace(health, problem=problem)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def probe(net: Network) -> str:
    """Ask the node right now (head and chain id); returns "" or the problem in words."""
    try:
        adapter = adapter_for(net)
        if hasattr(adapter, "timeout"):
            # A page is waiting: at most 5 s, less where PAYRAM_NODE_TIMEOUT_SECONDS says so.
            adapter.timeout = min(5.0, adapter.timeout)
        adapter.head()
    except (NodeError, ConfigError) as exc:
        return str(exc)
    return ""


def network_health(*, live: bool = False) -> list[NetworkHealth]:
    """Health of every enabled network (and of every network whose configuration is
    broken). With live=True each node is also asked for its head right now."""
    # chain.models inside the function: Celery imports this module (chain.schedule, from
    # payram/celery.py's on_after_configure) before Django's app registry is ready.
    from chain.models import Cursor

    enabled, errors = configured_networks()
    cursors = {c.network: c for c in Cursor.objects.filter(network__in=[n.slug for n in enabled])}
    now = timezone.now()
    rows = []
    for net in enabled:
        health = _health(net, cursors.get(net.slug), now)
        if live:
            problem = probe(net)
            if problem:
                health = replace(health, stalled=True, problem=f"node check failed: {problem}")
        rows.append(health)
    for slug, message in errors.items():
        name = slug if slug == "*" else _name(slug)
        rows.append(NetworkHealth(slug=slug, name=name, rpc="", problem=f"configuration: {message}"))
    return rows


def _name(slug: str) -> str:
    for net in catalogue.BUILTIN:
        if net.slug == slug:
            return net.name
    return slug


def network_is_healthy(slug: str) -> bool:
    """True when the network is enabled, configured correctly and being scanned: the
    checkout offers only these, so nobody pays on a chain nobody is watching."""
    try:
        net = network(slug)
    except (ConfigError, KeyError):
        return False
    if not net.enabled:
        return False
    # chain.models inside the function: Celery imports this module (chain.schedule, from
    # payram/celery.py's on_after_configure) before Django's app registry is ready.
    from chain.models import Cursor

    return not _health(net, Cursor.objects.filter(network=slug).first(), timezone.now()).stalled
