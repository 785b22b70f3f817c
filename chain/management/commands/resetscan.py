"""The database half of bin/reset-scanning: clear scan leases (a crashed worker's lease
would otherwise block its network until it expires) and failure backoffs, and optionally rewind a network's
cursor so blocks from a given height are processed again.

    python manage.py resetscan                                 # clear every network's lease
    python manage.py resetscan --network devnet --height 123   # and rescan devnet from block 124

Rewinding never loses anything: deposits already recorded stay, and seeing them again
changes nothing. With --recheck, deposits above the height are marked orphaned until the
rescan finds them again (for a fork deeper than the blocks the scanner keeps). Block
hashes kept above the height are forgotten; at --height 0 the genesis hash too, so a node
restarted on a brand-new chain (a devnet that lost its state, a wiped regtest) is
followed from its block 1.
"""

from __future__ import annotations

import os
import signal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chain import catalogue
from chain.models import Cursor, Deposit, ScannedBlock
from chain.signals import deposits_changed
from payram.lib.pidfile import scanloop_pidfile


class Command(BaseCommand):
    help = "Clear stale scan locks; with --network and --height, rewind that network's cursor to the height."

    def add_arguments(self, parser):
        parser.add_argument("--network", help="network slug (default: clear the locks of every network)")
        parser.add_argument("--height", type=int, help="last block to keep as processed: scanning resumes at height+1")
        parser.add_argument("--recheck", action="store_true", help="mark deposits above the height orphaned until found again")
        parser.add_argument("--wake-scanloop", action="store_true", help="then tell a running `manage.py scanloop` to scan now")

    def handle(
        self,
        *args,
        network: str | None = None,
        height: int | None = None,
        recheck: bool = False,
        wake_scanloop: bool = False,
        **options,
    ):
        self.reset(network=network, height=height, recheck=recheck)
        if wake_scanloop:
            self.wake_scanloop()

    def wake_scanloop(self) -> None:
        try:
            pid = int(scanloop_pidfile().read_text().strip())
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError):
            self.stdout.write(
                "no scanloop is running: start block processing with `python manage.py scanloop` "
                "(or the Celery worker and beat when REDIS_URL is set)"
            )
            return
        self.stdout.write(f"scanloop (pid {pid}) told to re-read its configuration and scan now")

    def reset(self, *, network: str | None, height: int | None, recheck: bool) -> None:
        if height is not None and not network:
            raise CommandError("--height needs --network")
        if height is not None and height < 0:
            raise CommandError("--height must be 0 or more")
        if recheck and height is None:
            raise CommandError("--recheck needs --height")
        if network:
            try:
                catalogue.get(network)
            except KeyError:
                raise CommandError(f"unknown network {network!r}; known: {', '.join(sorted(catalogue.networks()))}") from None
        cursors = Cursor.objects.filter(network=network) if network else Cursor.objects.all()
        with transaction.atomic():
            cleared = cursors.exclude(lock_owner="", locked_until=None).update(lock_owner="", locked_until=None)
            cursors.update(consecutive_failures=0)  # no backoff: the next scan runs at once (the last error stays shown)
            if height is None:
                self.stdout.write(f"cleared {cleared} scan lock(s)")
                return
            cursor, _ = Cursor.objects.get_or_create(network=network)
            before = cursor.height
            if before is not None and height > before:
                raise CommandError(f"{network} is processed up to {before}; moving it forward to {height} would skip blocks")
            # Every hash above the height is forgotten. At 0 the genesis hash goes too: a
            # node restarted on a brand-new chain (a devnet that lost its state, a wiped
            # regtest) shares no block with the old one, and a kept old genesis would make
            # every scan fail again with "forks below". Above 0 the hash at the height
            # stays, so a rewind that is not below the fork is caught at once.
            forgotten = ScannedBlock.objects.filter(network=network, height__gte=height if height == 0 else height + 1)
            forgotten.delete()
            kept = ScannedBlock.objects.filter(network=network, height=height).first()
            Cursor.objects.filter(network=network).update(height=height, block_hash=kept.block_hash if kept else "")
            orphaned, address_ids = 0, set()
            if recheck:
                above = Deposit.objects.filter(network=network, orphaned=False, block_height__gt=height)
                address_ids = set(above.values_list("address_id", flat=True))
                orphaned = above.update(orphaned=True, confirmations=0)
        if address_ids:
            deposits_changed.send_robust(sender=Cursor, network=network, address_ids=address_ids)
        self.stdout.write(f"cleared {cleared} scan lock(s)")
        self.stdout.write(
            f"{network}: cursor rewound from {before if before is not None else 'unset'} to {height}; scanning resumes at block {height + 1}"
            + (f"; {orphaned} deposit(s) above it marked orphaned until found again" if recheck else "")
            + (
                "; every stored block hash forgotten, genesis included (a node restarted on a new chain is followed)"
                if height == 0
                else ""
            )
        )
        if height > 0:
            self.stdout.write(
                "if the node was restarted on a brand-new chain (lost devnet state, wiped regtest), "
                "use --height 0 --recheck instead: no block of the old chain is kept then"
            )
