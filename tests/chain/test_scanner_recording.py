"""Recording a batch costs the same whatever the number of watched addresses (issue 15):
matching is one query per batch, deposits are written in bulk, and a rescan still never
doubles a deposit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chain.models import Cursor, Deposit, DepositAddress
from chain.scanner import _our_addresses, scan_network
from tests.support.anvil import random_address


def _watch_more(wallet, count: int) -> None:
    wallet.refresh_from_db()
    start = wallet.next_index
    DepositAddress.objects.bulk_create(
        [
            DepositAddress(project=wallet.project, wallet=wallet, family="evm", index=start + i, address=random_address())
            for i in range(count)
        ]
    )
    wallet.next_index = start + count
    wallet.save(update_fields=["next_index"])


def _scan_paying(devnet, ours) -> int:
    """Pay two of our addresses and a stranger, scan (one batch), return the queries it took."""
    devnet.send_eth(ours[0].address, 5)
    devnet.send_token(ours[1].address, 7)
    devnet.send_eth(random_address(), 9)
    with CaptureQueriesContext(connection) as queries:
        result = scan_network("devnet")
    assert result.ok and result.new_deposits == 2 and result.blocks == 3
    return len(queries.captured_queries)


@pytest.mark.anvil
@pytest.mark.django_db
def test_a_batch_takes_as_many_queries_with_5000_addresses_watched_as_with_10(devnet, evm_address):
    ours = [evm_address() for _ in range(10)]
    scan_network("devnet")  # a first scan settles the cursor and what is cached
    with_10 = _scan_paying(devnet, ours[0:2])
    _watch_more(ours[0].wallet, 4990)
    assert DepositAddress.objects.count() == 5000
    with_5000 = _scan_paying(devnet, ours[2:4])

    assert with_5000 == with_10
    assert sorted(Deposit.objects.values_list("address_id", "value")) == sorted(
        [(ours[0].pk, 5), (ours[1].pk, 7), (ours[2].pk, 5), (ours[3].pk, 7)]
    )

    # Rescanning the range records nothing twice.
    cursor = Cursor.objects.get(network="devnet")
    Cursor.objects.filter(network="devnet").update(height=cursor.height - 6, block_hash=devnet.block_hash(cursor.height - 6))
    assert scan_network("devnet").new_deposits == 0
    assert Deposit.objects.count() == 4


@pytest.mark.django_db
def test_matching_tens_of_thousands_of_outputs_is_one_query(evm_address):
    ours = [evm_address() for _ in range(3)]
    strangers = {random_address() for _ in range(40_000)}  # more than SQLite's variable limit
    with CaptureQueriesContext(connection) as queries:
        found = _our_addresses("evm", strangers | {a.address for a in ours})
    assert found == {a.address: a.pk for a in ours}
    assert len(queries.captured_queries) == 1
    assert _our_addresses("bitcoin", {a.address for a in ours}) == {}  # matched within the family only
