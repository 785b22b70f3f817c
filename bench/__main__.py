"""Run payram's benchmarks and print ratios measured in this run.

    bin/bench                 # full run (a few minutes)
    bin/bench --short         # tiny sizes: checks every benchmark works (CI), not speed
    bin/bench --web-only      # only the web pages: in process, then under gunicorn with wrk

The database is BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/payram_bench,
created if missing, emptied at start); BENCH_DATABASE_URL=sqlite uses a throw-away SQLite
file and skips what only PostgreSQL can show. A fresh anvil is started and stopped here.
Every result is a `ratio <name> = <value>` line; figures behind it are printed above it.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    blocks: int
    per_block: int
    rounds: int
    watched_many: int
    latency_samples: int
    rows_small: int
    rows_large: int
    web_seconds: float
    derivations: int
    allocations: int
    threads: int
    served_links: int  # links in the database while gunicorn is measured
    wrk_seconds: float
    wrk_rounds: int


FULL = Sizes(
    blocks=100,
    per_block=150,
    rounds=3,
    watched_many=100_000,
    latency_samples=30,
    rows_small=1_000,
    rows_large=100_000,
    web_seconds=5.0,
    derivations=2_000,
    allocations=200,
    threads=8,
    served_links=10_000,
    wrk_seconds=10.0,
    wrk_rounds=3,
)
SHORT = Sizes(
    blocks=8,
    per_block=20,
    rounds=1,
    watched_many=1_000,
    latency_samples=3,
    rows_small=100,
    rows_large=1_000,
    web_seconds=0.3,
    derivations=100,
    allocations=20,
    threads=4,
    served_links=500,
    wrk_seconds=1.0,
    wrk_rounds=1,
)
WATCHED_FEW = 20
WATCHED_SHARE = 0.05  # of transfers, to watched addresses
LATENCY_MS = 50  # injected per request by the proxy
BASE_DAY_BLOCKS = 43_200  # one day of Base blocks (2 s)


def ratio(name: str, value: float, target: str, met: bool | None) -> None:
    verdict = "" if met is None else ("  meets target" if met else "  MISSES target")
    print(f"ratio {name} = {value:.3f} (target {target}){verdict}", flush=True)


def say(text: str) -> None:
    print(f"  {text}", flush=True)


def skipped(name: str, reason: str) -> None:
    print(f"ratio {name} = skipped ({reason})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="tiny sizes: checks the benchmarks work, not how fast")
    parser.add_argument("--scan-only", action="store_true", help="stop after the scan throughput ratios")
    parser.add_argument("--latency-only", action="store_true", help="only the detection latency ratio")
    parser.add_argument("--no-tune", action="store_true", help="skip tuning the raw loop (3 in flight x 50 blocks)")
    parser.add_argument("--web-only", action="store_true", help="only the web ratios (in process and under gunicorn)")
    args = parser.parse_args(argv)
    sizes = SHORT if args.short else FULL
    rng = random.Random(20261129)

    from bench.env import DEFAULT_DATABASE_URL, setup_django, start_anvil

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if database_url == "sqlite":
        database_url = ""
    vendor = setup_django(database_url)
    logging.getLogger("chain").setLevel(logging.ERROR)
    print(
        f"payram benchmarks ({'short' if args.short else 'full'}) on {vendor}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        flush=True,
    )

    node = start_anvil()
    try:
        os.environ["PAYRAM_RPC_DEVNET"] = node.url
        # As on real networks by default: no call traces (the raw loop reads none either).
        os.environ["PAYRAM_INTERNAL_TRANSFERS_DEVNET"] = "false"
        from chain import catalogue

        catalogue.reload()
        tune = not (args.short or args.no_tune)
        run_all(
            node,
            sizes,
            rng,
            vendor,
            scan_only=args.scan_only,
            latency_only=args.latency_only,
            tune=tune,
            web_only=args.web_only,
        )
    finally:
        node.stop()
    return 0


def run_all(
    node,
    sizes: Sizes,
    rng: random.Random,
    vendor: str,
    *,
    scan_only: bool = False,
    latency_only: bool = False,
    tune: bool = False,
    web_only: bool = False,
) -> None:
    from bench import fixtures

    user, project, member = fixtures.merchant_project()
    wallet = fixtures.evm_wallet(project)
    if web_only:
        run_web_and_keys(node, sizes, rng, vendor, user, project, member, wallet)
        return
    if not latency_only:
        run_scan_and_matching(node, sizes, rng, wallet, tune=tune)
        if scan_only:
            return
    run_latency(node, sizes, rng, project, member, wallet)
    if not latency_only:
        run_web_and_keys(node, sizes, rng, vendor, user, project, member, wallet)


def run_scan_and_matching(node, sizes: Sizes, rng: random.Random, wallet, *, tune: bool = False) -> None:
    from bench import fixtures, scan
    from bench.proxy import LatencyProxy
    from chain.scanner import BATCH_BLOCKS, BATCHES_IN_FLIGHT

    # -- scan throughput ----------------------------------------------------------------
    watched = [fixtures.random_address(rng) for _ in range(WATCHED_FEW)]
    fixtures.watch_addresses(wallet, watched)
    started = time.perf_counter()
    first, last = fixtures.fill_blocks(
        node, blocks=sizes.blocks, per_block=sizes.per_block, watched=watched, watched_share=WATCHED_SHARE, rng=rng
    )
    print(
        f"\nScan throughput: blocks {first}-{last}, {sizes.per_block} transfers each (half ether, half TestUSD; "
        f"{WATCHED_SHARE:.0%} to {WATCHED_FEW} watched addresses), made in {time.perf_counter() - started:.1f} s; "
        f"payram reads {BATCHES_IN_FLIGHT} batches of {BATCH_BLOCKS} in flight; load average {_load()}",
        flush=True,
    )
    in_flight, batch = 3, 50
    if tune:
        best, in_flight, batch, tried = scan.tune(node, first, last)
        say(f"raw loop tuned (fastest of 2 tries each): {'; '.join(tried)}")
        say(f"raw loop baseline: {in_flight} in flight x {batch} blocks ({best:.1f} blocks/s)")
    sequential = scan.sequential_rate(node, first, last)
    ours, raw, deposits = scan.median_rates(node, first, last, sizes.rounds, in_flight=in_flight, batch=batch)
    say(f"payram scan_network: {ours:.1f} blocks/s ({deposits} deposits recorded per pass)")
    say(f"raw loop, {in_flight} in flight x {batch} blocks: {raw:.1f} blocks/s (decoded, no DB); sequential: {sequential:.1f}")
    ratio("scan_vs_raw_concurrent", ours / raw, ">= 0.9", ours / raw >= 0.9)
    ratio("scan_vs_raw_sequential", ours / sequential, "informative: the old, weak baseline", None)
    # -- behind a latency-injecting proxy -------------------------------------------------
    with LatencyProxy(node.url, LATENCY_MS / 1000) as proxy:
        far, far_raw, _ = scan.median_rates(node, first, last, 1, in_flight=in_flight, batch=batch, url=proxy.url)
    print(f"\nBehind a proxy adding {LATENCY_MS} ms per request (load average {_load()})", flush=True)
    say(f"payram catch-up: {far:.1f} blocks/s; raw loop: {far_raw:.1f} blocks/s")
    say(f"one day of Base blocks ({BASE_DAY_BLOCKS:,}) at this rate: {BASE_DAY_BLOCKS / far / 60:.1f} min")
    ratio(f"scan_vs_raw_at_{LATENCY_MS}ms", far / far_raw, ">= 0.9", far / far_raw >= 0.9)
    # -- matching -------------------------------------------------------------------------
    print(f"\nMatching: the same blocks with {sizes.watched_many:,} watched addresses vs {WATCHED_FEW}", flush=True)
    started = time.perf_counter()
    fixtures.watch_addresses(wallet, [fixtures.random_address(rng) for _ in range(sizes.watched_many - WATCHED_FEW)])
    fixtures.analyze()
    say(
        f"{sizes.watched_many - WATCHED_FEW:,} more DepositAddress rows inserted (and analysed) in {time.perf_counter() - started:.1f} s"
    )
    many, many_raw, _ = scan.median_rates(node, first, last, sizes.rounds, in_flight=in_flight, batch=batch)
    say(
        f"scan with {WATCHED_FEW} watched: {ours:.1f} blocks/s (raw loop meanwhile {raw:.1f}); "
        f"with {sizes.watched_many:,}: {many:.1f} blocks/s (raw loop meanwhile {many_raw:.1f})"
    )
    # Each rate over the raw loop's rate in the same rounds: the two runs are minutes apart
    # and the machine's load drifts; the node's own speed cancels out.
    matching = (many / many_raw) / (ours / raw)
    ratio(
        f"matching_{sizes.watched_many}_vs_{WATCHED_FEW}",
        matching,
        ">= 0.95 (each rate over the raw loop's in its rounds)",
        matching >= 0.95,
    )


def _load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def run_latency(node, sizes: Sizes, rng: random.Random, project, member, wallet) -> None:
    from bench import fixtures, latency

    # -- detection latency ---------------------------------------------------------------
    print(
        f"\nDetection latency: ether payment mined -> /pay/<code>/status/ answers the change ({sizes.latency_samples} payments)",
        flush=True,
    )
    pay_to = fixtures.random_address(rng)
    [deposit_address] = fixtures.watch_addresses(wallet, [pay_to])
    link = fixtures.link_with_quote(project, member, deposit_address)
    times, interval, errors = latency.measure(node, link, pay_to, samples=sizes.latency_samples, rng=rng)
    med, high = latency.median(times), latency.p95(times)
    say(f"poll interval {interval:g} s; median {med:.2f} s, p95 {high:.2f} s, max {max(times):.2f} s; scan errors: {len(errors)}")
    ratio("detection_p95_vs_interval_plus_0.5s", high / (interval + 0.5), "<= 1.0", high <= interval + 0.5)

    # -- detection latency with push wake-ups (anvil's WebSocket newHeads) ----------------
    from bench import push

    for poll_seconds in (2.0, 60.0):
        print(
            f"\nDetection latency with push on (anvil WebSocket newHeads), poll interval {poll_seconds:g} s "
            f"({sizes.latency_samples} payments)",
            flush=True,
        )
        pay_to = fixtures.random_address(rng)
        [deposit_address] = fixtures.watch_addresses(wallet, [pay_to])
        link = fixtures.link_with_quote(project, member, deposit_address)
        times = push.measure(node, link, pay_to, samples=sizes.latency_samples, rng=rng, poll_seconds=poll_seconds)
        med, high = latency.median(times), latency.p95(times)
        say(f"median {med:.2f} s, p95 {high:.2f} s, max {max(times):.2f} s")
        ratio(f"push_detection_p95_vs_1s_at_poll_{poll_seconds:g}s", high / 1.0, "<= 1.0", high <= 1.0)


def run_web_and_keys(node, sizes: Sizes, rng: random.Random, vendor: str, user, project, member, wallet) -> None:
    # -- web -----------------------------------------------------------------------------
    from django.test import Client
    from django.urls import reverse

    from bench import fixtures, keys, latency, web
    from links.models import PaymentLink

    print("\nWeb: pay-page status endpoint and All Payments (one client, in process, no network)", flush=True)
    [status_address] = fixtures.watch_addresses(wallet, [fixtures.random_address(rng)])
    status_link = fixtures.link_with_quote(project, member, status_address)
    poll = Client()
    status_url = reverse("pay:status", args=[status_link.code])
    key = latency._key(poll.get(status_url, HTTP_HX_REQUEST="true"))
    dashboard = Client()
    dashboard.force_login(user)
    figures: dict[tuple[str, int], web.WebFigures] = {}
    for rows in (sizes.rows_small, sizes.rows_large):
        fixtures.bulk_links(project, member, rows - PaymentLink.objects.count())
        fixtures.analyze()
        for name, client, url, expect, extra in (
            ("status_poll_204", poll, status_url + f"?v={key}", 204, {"HTTP_HX_REQUEST": "true"}),
            ("status_fragment", poll, status_url, 200, {"HTTP_HX_REQUEST": "true"}),
            ("pay_page", poll, reverse("pay:page", args=[status_link.code]), 200, {}),
            ("all_payments", dashboard, reverse("links:all_payments"), 200, {}),
        ):
            f = web.measure(client, name, rows, url, seconds=sizes.web_seconds, expect=expect, **extra)
            figures[(name, rows)] = f
            say(f"{name:16} {rows:>7,} links: {f.rps:7.1f} req/s, p95 {f.p95_ms:6.1f} ms, {f.queries} SQL queries")
        if rows == sizes.rows_small:
            fixtures.bulk_links(project, member, sizes.served_links - PaymentLink.objects.count())
            fixtures.analyze()
            run_served(sizes, status_link, dashboard, figures)
            print("\nWeb, in process (continued)", flush=True)
    for name in ("status_poll_204", "status_fragment", "all_payments"):
        small, large = figures[(name, sizes.rows_small)], figures[(name, sizes.rows_large)]
        constant = small.queries == large.queries
        say(
            f"{name}: {small.queries} queries at {sizes.rows_small:,} links, {large.queries} at {sizes.rows_large:,}: "
            f"{'constant' if constant else 'NOT constant'}"
        )
        ratio(
            f"{name}_rps_{sizes.rows_large}_vs_{sizes.rows_small}",
            large.rps / small.rps,
            ">= 0.9 and constant queries",
            constant and large.rps / small.rps >= 0.9,
        )

    # -- keys ----------------------------------------------------------------------------
    print("\nAddresses: derivation and allocation", flush=True)
    derive, point = keys.derivation_rates(sizes.derivations)
    say(f"chain.hd.receive_address (EVM): {derive:,.0f}/s; raw secp256k1 G*k: {point:,.0f}/s")
    ratio("derivation_vs_point_multiply", derive / point, "informative: 1.0 is the floor's speed", None)
    if vendor != "postgresql":
        skipped("allocation_concurrent_vs_serial", "PostgreSQL only: SQLite serialises every writer, nothing to compare")
    else:
        serial, concurrent, check = keys.allocation_rates(sizes.allocations, sizes.threads)
        say(
            f"address_allocate: serial {serial:.0f}/s; {sizes.threads} threads {concurrent:.0f}/s; indexes distinct and gap-free: {check}"
        )
        ratio(
            "allocation_concurrent_vs_serial",
            concurrent / serial,
            ">= 0.8 (one wallet row serialises them) and indexes ok",
            check == "ok" and concurrent / serial >= 0.8,
        )


SERVED = ("status_poll_204", "pay_page", "all_payments")


def run_served(sizes: Sizes, status_link, dashboard, in_process: dict) -> None:
    """The pages under gunicorn (2 sync workers), measured with wrk (8 connections), each
    divided by a trivial view through the same middleware; rounds alternate the pages."""
    import statistics

    from django.db import connection
    from django.urls import reverse

    from bench import latency, web
    from links.models import PaymentLink

    print(
        f"\nWeb under gunicorn ({web.WORKERS} sync workers, {connection.vendor}, {PaymentLink.objects.count():,} links), "
        f"wrk {web.CONNECTIONS} connections, {sizes.wrk_rounds} alternated rounds of {sizes.wrk_seconds:g} s",
        flush=True,
    )
    if web.wrk_path() is None:
        for name in SERVED:
            skipped(f"served_{name}_vs_trivial", "wrk is not installed (Debian: apt-get install wrk)")
        return
    htmx = {"HX-Request": "true"}
    status_path = reverse("pay:status", args=[status_link.code])
    session = {"Cookie": f"sessionid={dashboard.cookies['sessionid'].value}"}
    server = web.Gunicorn()
    try:
        server.wait_ready()
        import requests

        key = latency._key(requests.get(server.base + status_path, headers=htmx, timeout=30))
        targets = {
            "trivial": ("/bench/ok", {}, 200),
            "status_poll_204": (f"{status_path}?v={key}", htmx, 204),
            "pay_page": (reverse("pay:page", args=[status_link.code]), {}, 200),
            "all_payments": (reverse("links:all_payments"), session, 200),
        }
        for path, headers, expect in targets.values():
            web.check_answer(server.base, path, headers, expect)
        loads = [web.load_average()]
        runs: dict[str, list] = {name: [] for name in targets}
        for _round in range(sizes.wrk_rounds):
            for name, (path, headers, _expect) in targets.items():
                runs[name].append(web.run_wrk(name, server.base + path, seconds=sizes.wrk_seconds, headers=headers))
            loads.append(web.load_average())
    finally:
        server.stop()
    median = {
        name: (
            statistics.median(r.rps for r in found),
            statistics.median(r.p50_ms for r in found),
            statistics.median(r.p99_ms for r in found),
            sum(r.non_2xx for r in found),
        )
        for name, found in runs.items()
    }
    say(f"load average (1, 5, 15 min) before and after each round: {' | '.join(loads)}")
    for name, (rps, p50, p99, bad) in median.items():
        queries = in_process.get((name, sizes.rows_small))
        q = f", {queries.queries} SQL queries (in process)" if queries else ""
        rounds = " / ".join(f"{r.rps:.0f}" for r in runs[name])
        say(f"{name:16} {rps:8.1f} req/s (rounds {rounds}), p50 {p50:6.2f} ms, p99 {p99:6.2f} ms{q}; non-2xx: {bad}")
    targets_met = {"status_poll_204": 0.5, "pay_page": 0.2, "all_payments": 0.2}
    for name in SERVED:
        value = median[name][0] / median["trivial"][0]
        floor = targets_met[name]
        ratio(f"served_{name}_vs_trivial", value, f">= {floor}", value >= floor)


if __name__ == "__main__":
    sys.exit(main())
