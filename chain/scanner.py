"""The one scanner every chain family shares: from the persisted cursor to the node's head,
in bounded batches, through the ChainAdapter protocol only.

It records facts and nothing else: Deposits (unique on network, tx hash, index), their
confirmations, and which blocks it has processed (with hashes, to detect reorgs). What
the facts mean for a payment link is decided elsewhere, on `deposits_changed`.

Guarantees:
- One scan per network at a time: a lease on the Cursor row, claimed with a conditional
  UPDATE (the row count says who won), renewed inside every batch's transaction and by a
  heartbeat while the scan runs; a dead worker's lease simply expires (LEASE_SECONDS).
- Every scan checks that the node still has the block the cursor stands on, even when
  no block came: a tip replaced at the same height, or a node whose head fell below the
  cursor, rewinds at once.
- No block range is ever skipped: the cursor only moves inside the transaction that
  records the batch's deposits and blocks, so a scan killed midway reruns the batch.
- A parent-hash mismatch is a reorg: walk back to the common ancestor, mark deposits of
  orphaned blocks orphaned (kept for the audit trail) and rescan from there; a deposit
  seen again in another block moves there.
- Nothing is recorded from a bad node answer: NodeError is recorded on the cursor and
  re-raised. The next attempt waits for `backoff_remaining` (doubling from the poll
  interval, capped), counted from the failures recorded on the cursor, so every worker
  and scanloop agree and a dead node is not hammered; `scan_wait` ends that wait early
  when a liveness probe finds a node that had stopped answering answers again.
- The node and the database work at the same time: while batch N is recorded, batches
  N+1.. are already being fetched (up to PAYRAM_SCAN_BATCHES_IN_FLIGHT at once over
  keep-alive connections for thread-safe adapters, else one; helper threads never touch
  the database). Batches are still recorded one at a time, in order, each in its own
  transaction. A fetched-ahead batch is checked exactly like a direct fetch, is dropped
  after a rewind, and its node error surfaces where a direct fetch's would.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from chain import catalogue, health
from chain.adapters import adapter_for
from chain.adapters.base import Block, ChainAdapter, NodeError, NodeUnreachable, Transfer, parent_mismatch
from chain.catalogue import Network
from chain.health import MAX_BACKOFF_SECONDS, retry_delay  # noqa: F401 (MAX_BACKOFF_SECONDS: named here before)
from chain.models import Cursor, Deposit, DepositAddress, ScannedBlock
from chain.signals import deposits_changed
from members.models import Project

logger = logging.getLogger(__name__)

BATCH_BLOCKS = 50  # blocks fetched and committed together
MAX_BLOCKS_PER_SCAN = 2000  # then the lease is given back; the next scan continues
# Batches read from the node at once while one is recorded (thread-safe adapters only).
BATCHES_IN_FLIGHT = settings.PAYRAM_SCAN_BATCHES_IN_FLIGHT
# Renewed by a heartbeat while the scan runs (every third of it) and by every batch; a dead
# worker's lease lapses after this.
LEASE_SECONDS = settings.PAYRAM_SCAN_LEASE_SECONDS
CONFIRMATION_MARGIN = 6  # keep counting this far past the highest threshold
KEPT_BLOCKS_MARGIN = 50  # scanned block hashes kept beyond the highest threshold


class LeaseLost(Exception):
    """Another scanner took this network's lease (ours had expired): stop, record nothing."""


class DeepReorg(NodeError):
    """The node's chain forks below every block hash we kept: an operator must rewind."""


@dataclass
class ScanResult:
    network: str
    ok: bool = True
    skipped: bool = False  # another scan held the lease
    head: int | None = None
    height: int | None = None  # cursor after the scan
    blocks: int = 0  # blocks processed
    new_deposits: int = 0
    orphaned: int = 0  # deposits marked orphaned by reorgs
    reorgs: int = 0
    address_ids: set[int] = field(default_factory=set)
    error: str = ""

    @property
    def caught_up(self) -> bool:
        return self.head is not None and self.height is not None and self.height >= self.head


def backoff_remaining(slug: str) -> float:
    """Seconds before the network should be scanned again after recorded failures (0 when
    it is due). Read from the cursor, so every worker, beat tick and scanloop agree."""
    cursor = Cursor.objects.filter(network=slug).values_list("consecutive_failures", "last_error_at").first()
    if not cursor or not cursor[0] or cursor[1] is None:
        return 0.0
    try:
        interval = catalogue.get(slug).poll_interval
    except (KeyError, catalogue.ConfigError):
        return 0.0  # scan_network reports what is wrong with the network
    failures, failed_at = cursor
    due = failed_at + timedelta(seconds=retry_delay(interval, failures))
    return max(0.0, (due - timezone.now()).total_seconds())


# Bitcoin nodes accept a block up to 2 hours ahead of their clock; a header time further
# ahead than that of its median-time-past (which no single miner moves) is not believed.
MAX_BLOCK_TIME_AHEAD = timedelta(hours=2)


def block_time(block: Block) -> datetime | None:
    """The block's time as its producer set it, bounded by its median-time-past where the
    chain keeps one (Bitcoin); None where the node gave none."""
    if not block.timestamp:
        return None
    when = datetime.fromtimestamp(block.timestamp, tz=UTC)
    if block.median_time:
        when = min(when, datetime.fromtimestamp(block.median_time, tz=UTC) + MAX_BLOCK_TIME_AHEAD)
    return when


def chain_time(transfer: Transfer, block: Block | None, now: datetime) -> datetime:
    """When the network first had a transfer: the node's mempool entry time if it was seen
    unconfirmed, else its block's (bounded) time; never later than payram's own first sight,
    so a producer's clock running ahead cannot make an on-time payment look late."""
    candidates = [now]
    if transfer.seen_at:
        candidates.append(datetime.fromtimestamp(transfer.seen_at, tz=UTC))
    if block is not None and (mined := block_time(block)) is not None:
        candidates.append(mined)
    return min(candidates)


def scan_wait(slug: str, *, adapter: ChainAdapter | None = None) -> float:
    """Seconds before the network should be scanned (0: now). Full scans back off after
    failures (`backoff_remaining`); but when the last failure was the node not answering
    at all, a liveness probe (its head: one cheap call), at most once per poll interval
    across every worker, ends the wait as soon as the node answers. So a node back from
    an outage is scanned within one poll interval, not at the end of a doubled backoff."""
    remaining = backoff_remaining(slug)
    if remaining <= 0:
        return 0.0
    state = Cursor.objects.filter(network=slug).values_list("node_unreachable", "last_probe_at").first()
    if not state or not state[0]:
        return remaining
    try:
        network = health.network(slug)
    except (KeyError, catalogue.ConfigError):
        return remaining
    interval = timedelta(seconds=network.poll_interval)
    now = timezone.now()
    if state[1] is not None and now - state[1] < interval:
        return min(remaining, (state[1] + interval - now).total_seconds())
    # One probe per interval, whoever asks (beat ticks, several workers, scanloop).
    claimed = Cursor.objects.filter(network=slug).filter(Q(last_probe_at__isnull=True) | Q(last_probe_at__lte=now - interval))
    if not claimed.update(last_probe_at=now):
        return min(remaining, network.poll_interval)
    try:
        (adapter or adapter_for(network)).head()
    except NodeError as exc:
        logger.info("%s: node still not answering (%s); next probe in %g s", slug, exc, network.poll_interval)
        return min(remaining, network.poll_interval)
    except Exception:
        logger.exception("%s: liveness probe failed", slug)
        return remaining
    logger.info("%s: node answers again; scanning now instead of waiting %.0f s more", slug, remaining)
    Cursor.objects.filter(network=slug).update(consecutive_failures=0, node_unreachable=False)
    return 0.0


class _Heartbeat:
    """Keeps this scan's lease alive while it runs, from a small thread renewing it every
    third of LEASE_SECONDS (the batches renew it too), so the lease can be short: a killed
    worker's lease lapses within LEASE_SECONDS, while a live scan waiting on a slow node
    never loses it. The thread has its own database connection, closed when it ends; a
    failed renewal is retried at the next beat (the lease still has two thirds to run)."""

    def __init__(self, slug: str, owner: str) -> None:
        self.slug, self.owner = slug, owner
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"scan-lease-{slug}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self.stopping.wait(LEASE_SECONDS / 3):
                try:
                    kept = Cursor.objects.filter(network=self.slug, lock_owner=self.owner).update(
                        locked_until=timezone.now() + timedelta(seconds=LEASE_SECONDS)
                    )
                except DatabaseError as exc:
                    logger.warning("%s: could not renew the scan lease (%s); retrying", self.slug, exc)
                    continue
                if not kept:
                    return  # the lease is gone: the scan finds out at its next batch
        finally:
            connection.close()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def highest_threshold(network: Network) -> int:
    """The largest confirmation threshold any project asks for on this network."""
    highest = network.confirmations
    for overrides in Project.objects.values_list("confirmation_overrides", flat=True):
        try:
            highest = max(highest, int((overrides or {}).get(network.slug) or 0))
        except (TypeError, ValueError, AttributeError):
            continue
    return highest


def start_height(network: Network, head: int) -> int:
    """Where a network seen for the first time starts: PAYRAM_START_HEIGHT_<SLUG>, or its
    threshold below the head (deposits before the network was enabled are not looked for)."""
    raw = settings.PAYRAM_NETWORK_ENV.get("PAYRAM_START_HEIGHT_" + network.slug.upper().replace("-", "_"), "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            raise catalogue.ConfigError(
                f"PAYRAM_START_HEIGHT_{network.slug.upper().replace('-', '_')} must be a block height, not {raw!r}"
            ) from None
    return max(0, head - network.confirmations)


def claim_lease(slug: str, owner: str, *, seconds: int = LEASE_SECONDS) -> bool:
    Cursor.objects.get_or_create(network=slug)
    now = timezone.now()
    won = (
        Cursor.objects.filter(network=slug)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_owner=owner, locked_until=now + timedelta(seconds=seconds))
    )
    return won == 1


def release_lease(slug: str, owner: str) -> None:
    Cursor.objects.filter(network=slug, lock_owner=owner).update(lock_owner="", locked_until=None)


def _renew_lease(slug: str, owner: str, *, expected_height: int | None, **changes) -> None:
    """Inside a transaction: renew our lease and apply `changes` to the cursor, or raise
    LeaseLost if the lease or the cursor is no longer what this scan thinks."""
    won = Cursor.objects.filter(network=slug, lock_owner=owner, height=expected_height).update(
        locked_until=timezone.now() + timedelta(seconds=LEASE_SECONDS), **changes
    )
    if won != 1:
        raise LeaseLost(f"scan of {slug} lost its lease or its cursor moved; stopping without recording")


def _one_of(values) -> RawSQL:
    """For `field__in=`: the values as ONE query parameter (an array on PostgreSQL, a JSON
    array on SQLite), so neither the SQL text nor the time to build it grows with them, and
    no variable limit splits the lookup into several queries."""
    values = list(values)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", (values,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))


def _our_addresses(family: str, candidates: set[str]) -> dict[str, int]:
    """address -> DepositAddress id, for the candidates that are ours: one indexed lookup
    per call, whatever the number of candidates (tens of thousands of outputs in a batch of
    Bitcoin blocks) or of addresses watched."""
    if not candidates:
        return {}
    return dict(DepositAddress.objects.filter(family=family, address__in=_one_of(candidates)).values_list("address", "id"))


class _Prefetch:
    """The node's side of the scan loop: `fetch_ahead` starts reading the next batches in
    helper threads while the caller records the current one (with a thread-safe adapter,
    from the scan's first batch on); `blocks` hands the next one over (or reads directly
    when nothing matching was fetched ahead). Up to
    PAYRAM_SCAN_BATCHES_IN_FLIGHT reads run at once, each over its own keep-alive
    connection, where the adapter says it is thread-safe (`thread_safe`, the EVM and
    Bitcoin adapters); other adapters get one read ahead and at most one node call at a
    time. The helper threads never touch the database. They are created only when a scan
    has a second batch, and joined on exit (an in-flight read ends within the adapter's
    timeout)."""

    def __init__(self, adapter: ChainAdapter, in_flight: int = 1) -> None:
        self.adapter = adapter
        self.concurrent = bool(getattr(adapter, "thread_safe", False))
        self.depth = max(1, in_flight) if self.concurrent else 1
        self.pool: ThreadPoolExecutor | None = None
        self.ahead: deque[tuple[tuple[int, int], Future]] = deque()
        self.started: list[Future] = []  # every read started, used or not

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.ahead.clear()
        if self.pool is None:
            return
        # A scan ending normally waits for its helpers (the adapter is used again for the
        # mempool). One ending on an error or a stop signal (SIGTERM while a read is in
        # flight) does not wait for reads nobody will use: the threads end with them.
        in_flight = any(not f.done() for f in self.started)
        self.pool.shutdown(wait=exc_type is None or not in_flight, cancel_futures=True)

    def fetch_ahead(self, spans: list[tuple[int, int]]) -> None:
        """Have the first `depth` of `spans` (the batches that come next, in order) read or
        being read."""
        wanted = spans[: self.depth]
        if [span for span, _ in self.ahead] != wanted[: len(self.ahead)]:
            self._drop()
        if self.pool is None and len(wanted) > len(self.ahead):
            self.pool = ThreadPoolExecutor(max_workers=self.depth, thread_name_prefix="scan-prefetch")
        for span in wanted[len(self.ahead) :]:
            future = self.pool.submit(self.adapter.blocks, *span)
            self.started.append(future)
            self.ahead.append((span, future))

    def _drop(self) -> None:
        while self.ahead:
            _, future = self.ahead.popleft()
            if not future.cancel() and not self.concurrent:
                future.exception()  # wait for it: never two node calls at once; its answer is unused

    def blocks(self, start: int, end: int) -> list[Block]:
        if self.ahead and self.ahead[0][0] == (start, end):
            _, future = self.ahead.popleft()
            return future.result()  # a node error surfaces here, as from a direct read
        self._drop()
        return self.adapter.blocks(start, end)


class _Scan:
    def __init__(self, network: Network, adapter: ChainAdapter, owner: str, result: ScanResult) -> None:
        self.net = network
        self.slug = network.slug
        self.adapter = adapter
        self.owner = owner
        self.result = result
        self.threshold_cap = highest_threshold(network) + CONFIRMATION_MARGIN
        self.keep_blocks = self.threshold_cap + KEPT_BLOCKS_MARGIN

    def _notify(self, address_ids: set[int]) -> None:
        if not address_ids:
            return
        self.result.address_ids |= address_ids
        for receiver, response in deposits_changed.send_robust(sender=Cursor, network=self.slug, address_ids=set(address_ids)):
            if isinstance(response, Exception):
                logger.error("deposits_changed receiver %r failed for %s: %r", receiver, self.slug, response, exc_info=response)

    # -- cursor --------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        return Cursor.objects.get(network=self.slug)

    def initialise(self, head: int) -> Cursor:
        """Persist where a new network starts, so a failure before the first batch cannot
        move the start forward past blocks nobody looked at."""
        cursor = self.cursor()
        if cursor.height is not None:
            return cursor
        first = start_height(self.net, head)
        below = first - 1
        below_hash = self.adapter.block_hash(below) if below >= 0 else ""
        with transaction.atomic():
            _renew_lease(self.slug, self.owner, expected_height=None, height=below, block_hash=below_hash)
            if below >= 0:
                ScannedBlock.objects.filter(network=self.slug, height=below).delete()
                ScannedBlock.objects.create(network=self.slug, height=below, block_hash=below_hash, parent_hash="")
        logger.info("%s: first scan starts at block %s", self.slug, first)
        return self.cursor()

    # -- the loop ------------------------------------------------------------------------

    def run(self, head: int, max_blocks: int, batch_blocks: int) -> None:
        cursor = self.initialise(head)
        height, tip_hash = cursor.height, cursor.block_hash
        if height > head:
            # The node's best chain is shorter than what we processed (invalidateblock, a
            # reorg to a shorter fork, a node that lost blocks): what it no longer has is
            # not confirmed, so walk back to its head now, not when it outgrows us.
            height, tip_hash = self.rewind(height, below=head)
        elif height == head and tip_hash and self.adapter.block_hash(height) != tip_hash:
            # No new block, but the tip was replaced at the same height: the most common
            # reorg there is. One cheap call per idle scan finds it now, not a block later.
            height, tip_hash = self.rewind(height)

        def span(after: int, done: int) -> tuple[int, int]:
            start = after + 1
            return start, min(head, start + batch_blocks - 1, start + (max_blocks - done) - 1)

        def upcoming(after: int, done: int) -> list[tuple[int, int]]:
            """The batches after block `after`, `done` blocks into this scan, as many as may
            be read at once."""
            spans: list[tuple[int, int]] = []
            while after < head and done < max_blocks and len(spans) < BATCHES_IN_FLIGHT:
                spans.append(span(after, done))
                done += spans[-1][1] - after
                after = spans[-1][1]
            return spans

        with _Prefetch(self.adapter, BATCHES_IN_FLIGHT) as node:
            while height < head and self.result.blocks < max_blocks:
                start, end = span(height, self.result.blocks)
                if node.concurrent and not node.ahead and len(spans := upcoming(height, self.result.blocks)) > 1:
                    node.fetch_ahead(spans)  # the first batches too: the node serves them side by side
                blocks = node.blocks(start, end)
                self._check_batch(blocks, start, end)
                if tip_hash and blocks[0].parent_hash != tip_hash:
                    if self.adapter.block_hash(height) == tip_hash:
                        # The node still has our block at `height` but serves a block above
                        # it that names another parent: it contradicts itself.
                        raise parent_mismatch(start, blocks[0].parent_hash, tip_hash, what=f"the {self.net.name} node")
                    height, tip_hash = self.rewind(height)
                    continue  # nothing is fetched ahead of a batch that was not recorded
                if spans := upcoming(end, self.result.blocks + len(blocks)):
                    node.fetch_ahead(spans)
                self.record_batch(blocks, prev_height=height, head=head)
                height, tip_hash = blocks[-1].height, blocks[-1].hash
        self.result.height = height

    def _check_batch(self, blocks: list[Block], start: int, end: int) -> None:
        if [b.height for b in blocks] != list(range(start, end + 1)):
            raise NodeError(f"node answered blocks {[b.height for b in blocks][:3]}... when asked for {start}-{end}")
        for prev, block in zip(blocks, blocks[1:]):
            if block.parent_hash != prev.hash:
                raise parent_mismatch(block.height, block.parent_hash, prev.hash, what=f"the {self.net.name} node")

    # -- reorgs --------------------------------------------------------------------------

    def rewind(self, height: int, *, below: int | None = None) -> tuple[int, str]:
        """The node's block after `height` does not build on ours: find the common ancestor
        (at or under `below`, default `height`), orphan deposits above it and move the cursor
        back to it."""
        ancestor: ScannedBlock | None = None
        start = height if below is None else below
        kept_blocks = ScannedBlock.objects.filter(network=self.slug, height__lte=start).order_by("-height")
        for kept in kept_blocks.iterator():
            if self.adapter.block_hash(kept.height) == kept.block_hash:
                ancestor = kept
                break
        if ancestor is None and below is not None and not kept_blocks.exists():
            lowest = ScannedBlock.objects.filter(network=self.slug).order_by("height").values_list("height", flat=True).first()
            raise NodeError(
                f"{self.net.name}: the node's head ({below}) is below every block payram kept (from {lowest}): "
                f"it is still syncing, or serves a new chain; if it is a new chain, run "
                f"bin/reset-scanning --network {self.slug} --height <where to start>"
            )
        if ancestor is None:
            raise DeepReorg(
                f"{self.net.name}: the node's chain forks below the {self.keep_blocks} blocks kept; "
                f"rewind the cursor with bin/reset-scanning --network {self.slug} --height <a height before the fork>"
            )
        with transaction.atomic():
            orphans = Deposit.objects.filter(network=self.slug, orphaned=False, block_height__gt=ancestor.height)
            address_ids = set(orphans.values_list("address_id", flat=True))
            count = orphans.update(orphaned=True, confirmations=0)
            ScannedBlock.objects.filter(network=self.slug, height__gt=ancestor.height).delete()
            _renew_lease(self.slug, self.owner, expected_height=height, height=ancestor.height, block_hash=ancestor.block_hash)
        logger.warning("%s: reorg; blocks above %s left the chain, %s deposit(s) orphaned", self.slug, ancestor.height, count)
        self.result.reorgs += 1
        self.result.orphaned += count
        self._notify(address_ids)
        return ancestor.height, ancestor.block_hash

    # -- recording -----------------------------------------------------------------------

    def _record(self, found: list[tuple[Transfer, int, Block | None]], tip: int | None) -> set[int]:
        """Insert new deposits and move known ones to where they were seen now, in a constant
        number of queries: one to read what is known, one bulk insert, one bulk update. A
        transfer already recorded is never inserted again (the rows are read under the
        lease, inside the batch's transaction). Returns the address ids whose deposits
        changed."""
        if not found:
            return set()
        existing = {
            (d.tx_hash, d.index): d
            for d in Deposit.objects.filter(network=self.slug, tx_hash__in=_one_of({t.tx_hash for t, _, _ in found}))
        }
        changed: set[int] = set()
        new: list[Deposit] = []
        moved: dict[int, Deposit] = {}
        now = timezone.now()
        for transfer, address_id, block in found:
            height = block.height if block else None
            block_hash = block.hash if block else ""
            confirmations = tip - height + 1 if block and tip is not None else 0
            seen = chain_time(transfer, block, now)
            known = existing.get((transfer.tx_hash, transfer.index))
            if known is None:
                deposit = Deposit(
                    network=self.slug,
                    asset=transfer.asset,
                    tx_hash=transfer.tx_hash,
                    index=transfer.index,
                    address_id=address_id,
                    value=transfer.value,
                    block_height=height,
                    block_hash=block_hash,
                    confirmations=confirmations,
                    coinbase=transfer.coinbase,
                    chain_time=seen,
                )
                new.append(deposit)
                existing[(transfer.tx_hash, transfer.index)] = deposit
                changed.add(address_id)
            elif known.orphaned or known.block_hash != block_hash:
                if block is None and known.block_height is not None and not known.orphaned:
                    continue  # already mined; the mempool view lags
                known.block_height, known.block_hash = height, block_hash
                known.orphaned, known.confirmations = False, confirmations
                # The network first had it at the earliest time any view of it says.
                known.chain_time = min(known.chain_time, seen) if known.chain_time else seen
                known.updated_at = now
                if known.pk is not None:  # not one inserted by this same call
                    moved[known.pk] = known
                changed.add(known.address_id)
        Deposit.objects.bulk_create(new)
        if moved:
            Deposit.objects.bulk_update(
                moved.values(), ["block_height", "block_hash", "orphaned", "confirmations", "chain_time", "updated_at"]
            )
        self.result.new_deposits += len(new)
        return changed

    def _matches(self, transfers: list[tuple[Transfer, Block | None]]) -> list[tuple[Transfer, int, Block | None]]:
        ours = _our_addresses(self.net.family, {t.to_address for t, _ in transfers})
        return [(t, ours[t.to_address], b) for t, b in transfers if t.to_address in ours]

    def record_batch(self, blocks: list[Block], *, prev_height: int, head: int) -> None:
        tip = blocks[-1].height
        found = self._matches([(t, b) for b in blocks for t in b.transfers])
        with transaction.atomic():
            _renew_lease(
                self.slug, self.owner, expected_height=prev_height, height=tip, block_hash=blocks[-1].hash, node_head=head
            )
            changed = self._record(found, tip)
            # Confirmations count against the verified chain: the tip of this batch.
            counted = tip - F("block_height") + 1
            counting = (
                Deposit.objects.filter(
                    network=self.slug,
                    orphaned=False,
                    block_height__isnull=False,
                    block_height__lte=tip,
                )
                .filter(
                    Q(confirmations__lt=self.threshold_cap)
                    | Q(coinbase=True, confirmations__lt=self.net.coinbase_maturity + CONFIRMATION_MARGIN)
                )
                .exclude(confirmations=counted)
            )
            changed |= set(counting.values_list("address_id", flat=True))
            counting.update(confirmations=counted)
            ScannedBlock.objects.filter(network=self.slug, height__gte=blocks[0].height).delete()
            ScannedBlock.objects.bulk_create(
                [
                    ScannedBlock(
                        network=self.slug, height=b.height, block_hash=b.hash, parent_hash=b.parent_hash, block_time=block_time(b)
                    )
                    for b in blocks
                ]
            )
            ScannedBlock.objects.filter(network=self.slug, height__lte=tip - self.keep_blocks).delete()
        self.result.blocks += len(blocks)
        self._notify(changed)

    def record_mempool(self, max_blocks: int, batch_blocks: int) -> None:
        """Unconfirmed transfers to our addresses, with no block. A pending deposit missing
        from the mempool is marked orphaned (replaced or evicted), but only once the blocks
        found meanwhile are read: a payment mined between reading the chain and reading the
        mempool moves to its block instead of flickering orphaned."""
        pending = self.adapter.mempool()
        found = self._matches([(t, None) for t in pending])
        seen = {(t.tx_hash, t.index) for t in pending}
        with transaction.atomic():
            _renew_lease(self.slug, self.owner, expected_height=self.result.height)
            changed = self._record(found, None)
        self._notify(changed)

        def missing() -> list[Deposit]:
            still_pending = Deposit.objects.filter(network=self.slug, block_height__isnull=True, orphaned=False)
            return [d for d in still_pending if (d.tx_hash, d.index) not in seen]

        if not missing():
            return
        head = self.adapter.head()
        if head > self.result.height:
            self.result.head = head
            self.run(head, max_blocks, batch_blocks)
            if not self.result.caught_up:
                return  # decided on a later scan, once every block is read
        with transaction.atomic():
            _renew_lease(self.slug, self.owner, expected_height=self.result.height)
            gone = missing()
            Deposit.objects.filter(pk__in=[d.pk for d in gone]).update(orphaned=True, updated_at=timezone.now())
        self._notify({d.address_id for d in gone})


def _record_failure(slug: str, message: str, *, unreachable: bool = False) -> None:
    now = timezone.now()
    Cursor.objects.get_or_create(network=slug)
    Cursor.objects.filter(network=slug).update(
        last_error=message[:2000],
        last_error_at=now,
        last_scan_at=now,
        consecutive_failures=F("consecutive_failures") + 1,
        node_unreachable=unreachable,
    )


def _reconnect_if_dropped() -> None:
    """A connection PostgreSQL dropped (restart, failover, pg_terminate_backend) fails every
    later query until closed; CONN_HEALTH_CHECKS only looks at the start of a task. Close it
    so the failure record and the lease release that follow run on a fresh connection. Not
    inside an outer transaction: closing there would lose the caller's work."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _let_go(slug: str, owner: str) -> None:
    """Release the lease, over a fresh connection if the database dropped ours; if even
    that fails, the lease lapses by itself after LEASE_SECONDS."""
    for attempt in range(2):
        try:
            release_lease(slug, owner)
            return
        except DatabaseError as exc:
            if attempt or connection.in_atomic_block:
                logger.error("%s: could not release the scan lease (%s); it lapses within %s s", slug, exc, LEASE_SECONDS)
                return
            _reconnect_if_dropped()


def _keep_trace_cost(slug: str, adapter: ChainAdapter, before, scan_seconds: float) -> None:
    """What tracing internal transfers cost this scan (EVM adapters keep it), for the
    health page."""
    after = getattr(adapter, "trace_cost", None)
    if after is None or before is None or after.blocks <= before.blocks:
        return
    health.record_trace_cost(
        slug,
        method=after.method,
        blocks=after.blocks - before.blocks,
        seconds=after.seconds - before.seconds,
        scan_seconds=scan_seconds,
    )


def scan_network(
    slug: str,
    *,
    adapter: ChainAdapter | None = None,
    max_blocks: int = MAX_BLOCKS_PER_SCAN,
    batch_blocks: int = BATCH_BLOCKS,
) -> ScanResult:
    """Scan one network from its cursor towards the node's head (at most `max_blocks`),
    then its mempool. Returns skipped=True when another scan holds the network's lease.
    Raises NodeError (after recording it on the cursor) when the node fails."""
    network = health.network(slug)  # a broken URL elsewhere does not stop this network
    if adapter is None and not network.enabled:
        raise catalogue.ConfigError(f"network {slug} is not enabled: set {network.rpc_env_var}")
    result = ScanResult(network=slug)
    owner = _owner()
    if not claim_lease(slug, owner):
        result.skipped = True
        logger.info("%s: another scan holds the lease; skipping", slug)
        return result
    try:
        if adapter is None:
            adapter = adapter_for(network)
        started = time.perf_counter()
        traced_before = getattr(adapter, "trace_cost", None)
        with _Heartbeat(slug, owner):
            scan = _Scan(network, adapter, owner, result)
            result.head = adapter.head()
            scan.run(result.head, max_blocks, batch_blocks)
            if result.caught_up:
                scan.record_mempool(max_blocks, batch_blocks)
        _keep_trace_cost(slug, adapter, traced_before, time.perf_counter() - started)
        now = timezone.now()
        Cursor.objects.filter(network=slug).update(
            node_head=result.head,
            last_scan_at=now,
            last_success_at=now,
            last_error="",
            consecutive_failures=0,
            node_unreachable=False,
        )
        return result
    except LeaseLost as exc:
        logger.warning("%s", exc)
        result.ok, result.error = False, str(exc)
        return result
    except (NodeError, catalogue.ConfigError) as exc:  # the node, or this network's settings
        result.ok, result.error = False, str(exc)
        _record_failure(slug, str(exc), unreachable=isinstance(exc, NodeUnreachable))
        logger.warning("%s: scan failed: %s", slug, exc)
        raise
    except Exception as exc:
        # A bug or a database failure: still visible on the health page, then raised.
        result.ok, result.error = False, f"{type(exc).__name__}: {exc}"
        if isinstance(exc, DatabaseError):
            _reconnect_if_dropped()
        try:
            _record_failure(slug, f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
        except DatabaseError as record_exc:  # the database is still away: the original error is the one to raise
            logger.error("%s: could not record the scan failure: %s", slug, record_exc)
        raise
    finally:
        _let_go(slug, owner)
