"""Address derivation (chain.hd) vs a raw secp256k1 point multiply, and address
allocation (chain.wallets.address_allocate) from N threads vs one."""

from __future__ import annotations

import secrets
import threading
import time

from bench.fixtures import EVM_XPUB


def derivation_rates(count: int) -> tuple[float, float]:
    """Addresses per second of hd.receive_address (public BIP32 child + EIP-55 address),
    and raw point multiplies (G * k) per second: the floor of any derivation."""
    from fastecdsa.curve import secp256k1

    from chain import hd

    key = hd.parse_account_key(EVM_XPUB, "evm")
    hd.receive_address(key, 0)  # the receive branch is parsed and cached once per key
    started = time.perf_counter()
    for i in range(count):
        hd.receive_address(key, i)
    derive = count / (time.perf_counter() - started)
    scalars = [secrets.randbelow(secp256k1.q - 1) + 1 for _ in range(count)]
    started = time.perf_counter()
    for k in scalars:
        secp256k1.G * k
    raw = count / (time.perf_counter() - started)
    return derive, raw


def allocation_rates(count: int, threads: int) -> tuple[float, float, str]:
    """Allocations per second serially and from `threads` threads at once (each its own
    connection), checking every index is distinct and gap-free."""
    from django.db import connection

    from bench.fixtures import evm_wallet, merchant_project
    from chain.models import DepositAddress
    from chain.wallets import address_allocate

    _, project, _ = merchant_project("Allocation")
    evm_wallet(project, xpub=EVM_XPUB)

    started = time.perf_counter()
    for _ in range(count):
        address_allocate(project=project, family="evm", purpose="bench")
    serial = count / (time.perf_counter() - started)

    errors: list[str] = []
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(n):
                address_allocate(project=project, family="evm", purpose="bench")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    per_thread = count // threads
    pool = [threading.Thread(target=worker, args=(per_thread,)) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    concurrent = per_thread * threads / (time.perf_counter() - started)

    indexes = sorted(DepositAddress.objects.filter(project=project).values_list("index", flat=True))
    total = count + per_thread * threads
    check = (
        "ok"
        if not errors and indexes == list(range(total))
        else f"FAILED: {errors[:2]} {len(indexes)} indexes for {total} allocations"
    )
    return serial, concurrent, check
