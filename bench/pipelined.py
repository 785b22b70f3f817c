"""The fix proposed for chain/scanner.py (owned by another engineer), measured here so
its effect is a number: `_Scan.run` fetches batch N+1 from the node while batch N is
checked and recorded, so the database's time hides behind the node's. Everything else
(checks, rewinds, recording, the lease) is scanner.py's own code.

Used only by the bench, by swapping chain.scanner._Scan for the duration of one scan."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from chain import scanner
from chain.models import ScannedBlock


class PipelinedScan(scanner._Scan):
    def run(self, head: int, max_blocks: int, batch_blocks: int) -> None:
        cursor = self.initialise(head)
        height, tip_hash = cursor.height, cursor.block_hash
        if height > head:
            kept = ScannedBlock.objects.filter(network=self.slug, height=head).first()
            if kept and self.adapter.block_hash(head) != kept.block_hash:
                height, tip_hash = self.rewind(height, below=head)

        def span(after: int, done: int) -> tuple[int, int]:
            start = after + 1
            return start, min(head, start + batch_blocks - 1, start + (max_blocks - done) - 1)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-prefetch") as pool:
            ahead: tuple[tuple[int, int], Future] | None = None
            while height < head and self.result.blocks < max_blocks:
                start, end = span(height, self.result.blocks)
                if ahead and ahead[0] == (start, end):
                    blocks = ahead[1].result()  # a node error surfaces here, as from a direct fetch
                else:
                    if ahead:
                        ahead[1].cancel()
                    blocks = self.adapter.blocks(start, end)
                ahead = None
                self._check_batch(blocks, start, end)
                if tip_hash and blocks[0].parent_hash != tip_hash:
                    height, tip_hash = self.rewind(height)
                    continue  # anything fetched ahead was discarded above
                done = self.result.blocks + len(blocks)
                if end < head and done < max_blocks:
                    following = span(end, done)
                    ahead = (following, pool.submit(self.adapter.blocks, *following))
                self.record_batch(blocks, prev_height=height, head=head)
                height, tip_hash = blocks[-1].height, blocks[-1].hash
            self.result.height = height


@contextmanager
def pipelined_scanner():
    original = scanner._Scan
    scanner._Scan = PipelinedScan
    try:
        yield
    finally:
        scanner._Scan = original
