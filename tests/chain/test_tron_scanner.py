"""The generic scanner on a Tron network, against the Tron test node: what an operator
sees in the deposits, the health page, `chainhealth` and `resetscan`."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from chain import catalogue
from chain.adapters.base import NodeError
from chain.health import network_health, network_is_healthy
from chain.models import Cursor, Deposit, ScannedBlock
from chain.scanner import scan_network
from tests.support.anvil import free_port

pytestmark = pytest.mark.django_db


def deposits_to(address) -> list[Deposit]:
    return list(Deposit.objects.filter(address=address).order_by("id"))


def test_trx_and_usdt_deposits_are_recorded_with_exact_values(tron_chain, tron_address):
    trx_to, usdt_to = tron_address(), tron_address()
    trx_tx = tron_chain.send_trx(trx_to.address, 123_456_789)  # 123.456789 TRX
    usdt_tx = tron_chain.send_trc20(usdt_to.address, 10**15 + 1)  # a billion USDT and one unit
    tron_chain.mine()

    result = scan_network("tron")

    assert result.ok and result.new_deposits == 2
    [trx] = deposits_to(trx_to)
    assert (trx.network, trx.asset, trx.tx_hash, trx.index, trx.value) == ("tron", "TRX", trx_tx, 0, Decimal(123_456_789))
    assert trx.block_hash == tron_chain.chain.blocks[trx.block_height].block_id
    [usdt] = deposits_to(usdt_to)
    assert (usdt.asset, usdt.tx_hash, usdt.value) == ("USDT", usdt_tx, Decimal(10**15 + 1))
    cursor = Cursor.objects.get(network="tron")
    assert (cursor.height, cursor.node_head, cursor.last_error) == (tron_chain.height, tron_chain.height, "")


def test_payments_to_an_address_derived_from_the_merchants_tron_xpub_are_recorded(tron_chain, project):
    from chain.wallets import address_allocate, wallet_set
    from tests.chain.test_tron_addresses import ABANDON, tron_xpub

    wallet_set(project=project, family="tron", xpub=tron_xpub(ABANDON))
    address = address_allocate(project=project, family="tron", purpose="scanner test")
    assert address.address == "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
    tron_chain.send_trx(address.address, 2_000_000)
    tron_chain.send_trc20(address.address, 12_340_000)
    tron_chain.mine()

    scan_network("tron")

    assert sorted((d.asset, int(d.value)) for d in deposits_to(address)) == [("TRX", 2_000_000), ("USDT", 12_340_000)]


def test_a_failed_usdt_transfer_is_never_a_deposit(tron_chain, tron_address):
    to = tron_address()
    tron_chain.send_trc20(to.address, 50_000_000, result="OUT_OF_ENERGY")
    tron_chain.send_trc20(to.address, 50_000_000, result="REVERT")
    tron_chain.send_trc10(to.address, 50_000_000)
    tron_chain.mine()

    result = scan_network("tron")

    assert result.ok and result.blocks == 1 and deposits_to(to) == []


def test_confirmations_count_up_to_the_solidified_depth(tron_chain, tron_address):
    to = tron_address()
    tron_chain.send_trc20(to.address, 1_000_000)
    tron_chain.mine()
    scan_network("tron")
    assert deposits_to(to)[0].confirmations == 1

    tron_chain.mine(18)
    scan_network("tron")
    assert deposits_to(to)[0].confirmations == catalogue.get("tron").confirmations == 19


def test_a_reorg_orphans_the_deposit_and_the_re_mined_one_moves_to_its_new_block(tron_chain, tron_address):
    to = tron_address()
    tx = tron_chain.send_trx(to.address, 3_000_000)
    tron_chain.mine()
    tron_chain.mine(2)
    scan_network("tron")
    [first] = deposits_to(to)
    old_hash = first.block_hash

    # A longer fork from below the deposit's block, without the transaction.
    tron_chain.reorg(3, 4)
    result = scan_network("tron")

    assert result.reorgs == 1 and result.orphaned == 1
    [orphan] = deposits_to(to)
    assert orphan.orphaned and orphan.confirmations == 0
    assert not ScannedBlock.objects.filter(network="tron", block_hash=old_hash).exists()

    # The same transaction makes it into the new branch: the deposit moves there.
    tron_chain.resend(tx)
    tron_chain.mine()
    scan_network("tron")
    [moved] = deposits_to(to)
    assert moved.id == first.id and not moved.orphaned
    assert moved.block_hash == tron_chain.chain.blocks[moved.block_height].block_id
    assert Cursor.objects.get(network="tron").block_hash == tron_chain.chain.blocks[-1].block_id


def test_a_node_that_is_down_records_the_error_skips_nothing_and_recovers(tron_chain, tron_address, monkeypatch):
    to = tron_address()
    before = Cursor.objects.get(network="tron").height
    tron_chain.send_trx(to.address, 5)
    tron_chain.mine()

    monkeypatch.setenv("PAYRAM_RPC_TRON", f"http://127.0.0.1:{free_port()}")
    catalogue.reload()
    for _ in (1, 2):
        with pytest.raises(NodeError, match="unreachable"):
            scan_network("tron")
    cursor = Cursor.objects.get(network="tron")
    assert cursor.height == before and cursor.consecutive_failures == 2 and "unreachable" in cursor.last_error

    tron_chain.mine(3)
    monkeypatch.setenv("PAYRAM_RPC_TRON", tron_chain.url)
    catalogue.reload()
    Cursor.objects.filter(network="tron").update(last_error_at=None)  # past the backoff
    result = scan_network("tron")

    assert result.ok and result.blocks == 4
    assert [int(d.value) for d in deposits_to(to)] == [5]


def test_a_new_tron_network_starts_the_solidified_depth_below_the_head(tron_node):
    tron_node.mine(30)
    result = scan_network("tron")
    assert result.blocks == 19 + 1
    assert Cursor.objects.get(network="tron").height == tron_node.height


def test_health_chainhealth_and_resetscan_work_for_tron(tron_chain, tron_address, merchant_client):
    to = tron_address()
    tron_chain.send_trc20(to.address, 7)
    tron_chain.mine(3)
    scan_network("tron")

    assert network_is_healthy("tron")
    row = next(r for r in network_health(live=True) if r.slug == "tron")
    assert (row.status, row.node_head, row.height) == ("ok", tron_chain.height, tron_chain.height)

    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert "Tron" in html and tron_chain.url in html

    out = StringIO()
    try:
        call_command("chainhealth", stdout=out)
    except SystemExit as exc:  # non-zero only when something is stalled
        assert not exc.code, out.getvalue()
    [line] = [ln for ln in out.getvalue().splitlines() if ln.startswith("tron ")]
    assert line.split()[:4] == ["tron", "OK", str(tron_chain.height), str(tron_chain.height)]

    deposit = Deposit.objects.get(address=to)
    out = StringIO()
    call_command("resetscan", "--network", "tron", "--height", str(deposit.block_height - 1), stdout=out)
    assert f"scanning resumes at block {deposit.block_height}" in out.getvalue()
    result = scan_network("tron")
    assert result.ok and result.new_deposits == 0
    assert Deposit.objects.get(address=to).id == deposit.id
