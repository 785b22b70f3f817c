"""200 customers open 200 different links of one shop and pick a coin at the same moment:
each gets its own deposit address, derived from the merchant's key at its own index, and
nobody sees an error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from chain import hd
from chain.models import DepositAddress, Wallet
from links.checkout import quote_create
from links.models import PaymentLink
from tests.links.pay_support import EVM_XPUB, make_link, make_shop

CUSTOMERS = 200
# PostgreSQL here allows 100 connections, shared with other test runs; a deployment serves
# customers through a bounded pool of web workers too. All of them start at once.
WORKERS = 40

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(project, monkeypatch, settings):
    yield from make_shop(project, monkeypatch, settings)  # the devnet enabled; no node is asked


def test_200_customers_picking_at_once_get_200_distinct_addresses_without_error(shop, member):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite runs one writer at a time and its shared in-memory test database answers "
            "'table is locked' instead of waiting: concurrent checkout is PostgreSQL's to show"
        )
    link_ids = [make_link(shop, member, description=f"Order #{i}").pk for i in range(CUSTOMERS)]
    start = threading.Barrier(WORKERS)
    started = threading.local()

    def customer(n: int):
        if not getattr(started, "yes", False):
            started.yes = True
            start.wait(timeout=30)
        try:
            link = PaymentLink.objects.get(pk=link_ids[n])
            return quote_create(link=link, network="devnet", asset="USDC" if n % 2 else "ETH")
        finally:
            connection.close()  # as at the end of a request

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(customer, n) for n in range(CUSTOMERS)]
        errors = [f.exception(timeout=120) for f in futures]

    assert [e for e in errors if e is not None] == []
    quotes = [f.result() for f in futures]
    addresses = DepositAddress.objects.filter(project=shop, family="evm")
    assert len({q.deposit_address_id for q in quotes}) == CUSTOMERS
    assert addresses.count() == CUSTOMERS and addresses.values("address").distinct().count() == CUSTOMERS
    assert sorted(addresses.values_list("index", flat=True)) == list(range(CUSTOMERS))  # no gap, no reuse
    assert Wallet.objects.get(project=shop, family="evm").next_index == CUSTOMERS
    derived = hd.receive_addresses(hd.parse_account_key(EVM_XPUB, "evm"), 0, CUSTOMERS, script_type="evm")
    assert sorted(addresses.values_list("index", "address")) == list(enumerate(derived))  # the merchant's own
    assert set(addresses.values_list("link_address__link_id", flat=True)) == set(link_ids)  # one per link
