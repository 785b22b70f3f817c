"""The benchmarks still work: `bin/bench --short` completes and prints every ratio line.
How fast is not asserted here (timing never decides a test); bench/README.md has the figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
RATIOS = [
    "scan_vs_raw_concurrent",  # was scan_vs_raw_rpc, over the old sequential loop
    "scan_vs_raw_sequential",
    "scan_vs_raw_at_50ms",
    "matching_1000_vs_20",  # was matching_1000_vs_10
    "detection_p95_vs_interval_plus_0.5s",
    "push_detection_p95_vs_1s_at_poll_2s",
    "push_detection_p95_vs_1s_at_poll_60s",
    "status_poll_204_rps_1000_vs_100",
    "status_fragment_rps_1000_vs_100",
    "all_payments_rps_1000_vs_100",
    "derivation_vs_point_multiply",
    "allocation_concurrent_vs_serial",
    "served_status_poll_204_vs_trivial",
    "served_pay_page_vs_trivial",
    "served_all_payments_vs_trivial",
]


def _bench_database_url() -> str:
    """The bench's own database on the test suite's server, named after the suite's (never
    the suite's database itself, which the bench empties; never one shared by two checkouts,
    whose migrations may differ), or a throw-away SQLite file when the suite runs on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(url)
        return urlunparse(parsed._replace(path=f"/{parsed.path.strip('/') or 'payram'}_bench"))
    return "sqlite"


def test_short_benchmarks_run_and_print_every_ratio():
    env = {**os.environ, "BENCH_DATABASE_URL": _bench_database_url()}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--short"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in RATIOS:
        assert re.search(rf"^ratio {re.escape(name)} = (\d+\.\d+|skipped \(.+\))", done.stdout, re.MULTILINE), (name, done.stdout)
    if _bench_database_url() == "sqlite":
        assert "ratio allocation_concurrent_vs_serial = skipped (PostgreSQL only" in done.stdout
