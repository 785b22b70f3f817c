"""Print each enabled network's scanning health (the dashboard's health page, as text).
Exits 1 when any network is stalled or erroring, so it works as a monitoring check.

    python manage.py chainhealth          # from what the scanners recorded
    python manage.py chainhealth --live   # also ask every node now (head, chain id)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from chain.health import network_health


def _cell(value) -> str:
    return "-" if value is None or value == "" else str(value)


class Command(BaseCommand):
    help = "Show per network: node head, last processed block, lag, last successful scan, last error, stalled."

    def add_arguments(self, parser):
        parser.add_argument("--live", action="store_true", help="also ask each node for its head and chain id now")

    def handle(self, *args, live: bool = False, **options):
        rows = network_health(live=live)
        if not rows:
            self.stdout.write(
                "No network is enabled: set PAYRAM_RPC_<NETWORK> (for example PAYRAM_RPC_DEVNET=http://127.0.0.1:8545)."
            )
            return
        now = timezone.now()
        table = [("NETWORK", "STATUS", "NODE HEAD", "PROCESSED", "LAG", "LAST SUCCESS", "POLL", "PUSH", "NODE")]
        for r in rows:
            since = f"{int((now - r.last_success_at).total_seconds())} s ago" if r.last_success_at else "never"
            poll = f"{r.poll_interval:g} s" if r.poll_interval else "-"
            table.append(
                (
                    r.slug,
                    r.status.upper(),
                    _cell(r.node_head),
                    _cell(r.height),
                    _cell(r.lag),
                    since,
                    poll,
                    r.push_label[:40],
                    r.rpc or "-",
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        bad = False
        for r in rows:
            if r.stalled or r.last_error:
                bad = True
                if r.problem:
                    self.stdout.write(f"{r.slug}: STALLED: {r.problem}")
                if r.last_error and r.last_error not in r.problem:
                    self.stdout.write(f"{r.slug}: last error ({r.consecutive_failures} in a row): {r.last_error}")
        if bad:
            raise SystemExit(1)
