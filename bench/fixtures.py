"""Rows and blocks the benchmarks need, made in bulk."""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

# A public test key (tests/chain/test_hd.py's EVM_XPUB): m/44'/60'/0' of the BIP39 test mnemonic.
EVM_XPUB = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
TRANSFER_SELECTOR = "a9059cbb"


def random_address(rng: random.Random | None = None) -> str:
    from chain.adapters.evm import _checksummed

    return _checksummed(rng.randbytes(20).hex() if rng else secrets.token_hex(20))


def analyze() -> None:
    """Fresh planner statistics after a bulk insert, as autovacuum would soon give them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def merchant_project(name: str = "Bench Shop"):
    from django.contrib.auth import get_user_model

    from members.models import Member, Project

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    project = Project.objects.create(name=name, return_url="https://shop.example.com/thanks")
    project.owners.add(user)
    member = Member.objects.create(project=project, email="payer@example.com", name="Payer")
    return user, project, member


def evm_wallet(project, *, xpub: str | None = None):
    from chain.models import Wallet

    return Wallet.objects.create(project=project, family="evm", xpub=xpub or f"bench-xpub-{project.pk}", script_type="evm")


def watch_addresses(wallet, addresses: list[str], *, start_index: int | None = None) -> list:
    """Bulk-insert DepositAddress rows (the scanner's watch list) for `addresses`."""
    from chain.models import DepositAddress

    first = wallet.next_index if start_index is None else start_index
    rows = [
        DepositAddress(project_id=wallet.project_id, wallet=wallet, family="evm", index=first + i, address=a, purpose="bench")
        for i, a in enumerate(addresses)
    ]
    created = []
    for i in range(0, len(rows), 5000):
        created += DepositAddress.objects.bulk_create(rows[i : i + 5000])
    wallet.next_index = first + len(rows)
    wallet.save(update_fields=["next_index"])
    return created


def link_with_quote(project, member, deposit_address, *, amount_due: int = 10**24):
    """A pending link whose current quote is devnet ETH to `deposit_address`."""
    from django.utils import timezone

    from links.models import LinkAddress, PaymentLink, Quote

    link = PaymentLink.objects.create(project=project, member=member, amount="100.00", currency="USD", description="bench")
    LinkAddress.objects.create(link=link, address=deposit_address)
    Quote.objects.create(
        link=link,
        network="devnet",
        asset="ETH",
        deposit_address=deposit_address,
        amount_due=amount_due,
        rate="2000",
        rate_source="bench",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return link


def bulk_links(project, member, count: int) -> None:
    from links.models import PaymentLink

    for i in range(0, count, 5000):
        PaymentLink.objects.bulk_create(
            [
                PaymentLink(project=project, member=member, amount="12.50", currency="USD", description=f"bench link {i + j}")
                for j in range(min(5000, count - i))
            ]
        )


def fill_blocks(
    node, *, blocks: int, per_block: int, watched: list[str], watched_share: float, rng: random.Random
) -> tuple[int, int]:
    """Mine `blocks` blocks of `per_block` transfers each: half native ether from anvil's
    accounts 1-9, half TestUSD transfers from account 0; a `watched_share` of recipients are
    `watched`, the rest fresh addresses. Returns the first and last height."""
    from chain.catalogue import DEVNET_TOKEN_ADDRESS

    accounts = node.rpc("eth_accounts")
    node.rpc("evm_setAutomine", [False])
    first = node.head() + 1
    try:
        for _ in range(blocks):
            calls = []
            for i in range(per_block):
                to = rng.choice(watched) if rng.random() < watched_share else random_address(rng)
                if i % 2 == 0:
                    calls.append(
                        (
                            "eth_sendTransaction",
                            [
                                {
                                    "from": accounts[1 + (i // 2) % 9],
                                    "to": to,
                                    "value": hex(10**12 + i),
                                    "gas": hex(21000),
                                }
                            ],
                        )
                    )
                else:
                    data = "0x" + TRANSFER_SELECTOR + to[2:].lower().rjust(64, "0") + hex(1000 + i)[2:].rjust(64, "0")
                    calls.append(
                        (
                            "eth_sendTransaction",
                            [
                                {
                                    "from": accounts[0],
                                    "to": DEVNET_TOKEN_ADDRESS,
                                    "data": data,
                                    "gas": hex(100000),
                                }
                            ],
                        )
                    )
            # anvil assigns nonces of one big batch concurrently and refuses some as
            # replacements; sub-batches of 50 never collide.
            for i in range(0, len(calls), 50):
                node.rpc_batch(calls[i : i + 50])
            node.rpc("anvil_mine", ["0x1"])
    finally:
        node.rpc("evm_setAutomine", [True])
    last = node.head()
    count = len(node.rpc("eth_getBlockByNumber", [hex(last), False])["transactions"])
    if count != per_block:
        raise RuntimeError(f"block {last} holds {count} transactions, not {per_block}")
    return first, last
