"""Network health as an operator sees it: the page, `manage.py chainhealth`, and
network_is_healthy (which the checkout uses to offer only watched networks)."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from chain import catalogue
from chain.adapters.base import NodeError
from chain.health import lag_bound, network_health, network_is_healthy, stall_after
from chain.models import Cursor
from chain.scanner import scan_network
from tests.support.anvil import free_port

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


@pytest.fixture
def broken_base_url():
    """PAYRAM_RPC_BASE set to something that is not an http(s) URL, restored afterwards."""
    os.environ["PAYRAM_RPC_BASE"] = "ftp://user:secret@node.example"
    catalogue.reload()
    yield
    os.environ.pop("PAYRAM_RPC_BASE", None)
    catalogue.reload()


def chainhealth(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("chainhealth", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


def row(slug: str):
    return next(r for r in network_health() if r.slug == slug)


def test_a_scanned_network_is_healthy_and_the_page_shows_where_it_is(devnet, merchant_client):
    scan_network("devnet")
    head = devnet.head()

    assert network_is_healthy("devnet")
    health = row("devnet")
    assert (health.stalled, health.node_head, health.height, health.lag, health.status) == (False, head, head, 0, "ok")
    page = merchant_client.get(reverse("chain:health"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Local devnet (anvil)" in html and "STALLED" not in html and f">{head}<" in html
    code, out = chainhealth()
    assert code == 0 and "devnet" in out and "OK" in out


def test_a_network_never_scanned_is_flagged_stalled(devnet, merchant_client):
    Cursor.objects.filter(network="devnet").delete()

    assert not network_is_healthy("devnet")
    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert "STALLED" in html and "never scanned" in html and 'role="alert"' in html
    code, out = chainhealth()
    assert code == 1 and "devnet: STALLED: never scanned" in out


def test_no_successful_scan_for_a_while_is_stalled(devnet):
    scan_network("devnet")
    net = catalogue.get("devnet")
    Cursor.objects.filter(network="devnet").update(last_success_at=timezone.now() - stall_after(net) - timedelta(seconds=1))

    assert not network_is_healthy("devnet")
    assert "no successful scan for" in row("devnet").problem


def test_falling_too_far_behind_the_node_is_stalled(devnet):
    scan_network("devnet")
    net = catalogue.get("devnet")
    Cursor.objects.filter(network="devnet").update(node_head=devnet.head() + lag_bound(net) + 1)

    assert not network_is_healthy("devnet")
    assert "blocks behind the node" in row("devnet").problem


def test_a_node_error_shows_with_the_last_success_and_stalls_once_it_lasts(devnet, devnet_rpc, merchant_client):
    scan_network("devnet")
    devnet_rpc(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NodeError):
        scan_network("devnet")

    health = row("devnet")
    assert health.status == "errors" and not health.stalled and "unreachable" in health.last_error
    assert network_is_healthy("devnet")  # one failed poll is not yet an outage
    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert "unreachable" in html and "1 failure in a row" in html and "backing off" not in html  # the next tick retries

    with pytest.raises(NodeError):
        scan_network("devnet")
    assert row("devnet").next_attempt_at is not None
    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert "2 failures in a row" in html and "backing off, next try" in html

    Cursor.objects.filter(network="devnet").update(last_success_at=timezone.now() - timedelta(hours=1))
    assert row("devnet").stalled and "the node fails" in row("devnet").problem
    assert not network_is_healthy("devnet")


def test_wrong_chain_id_is_reported_clearly(db, fake_node, devnet_rpc, merchant_client):
    fake_node.respond = lambda req: json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": "0x1"}).encode()
    devnet_rpc(fake_node.url())

    with pytest.raises(NodeError):
        scan_network("devnet")

    expected = "serves chain id 1, but Local devnet (anvil) is chain id 31337: check PAYRAM_RPC_DEVNET"
    assert expected in merchant_client.get(reverse("chain:health")).content.decode()
    code, out = chainhealth("--live")
    assert code == 1 and f"devnet: STALLED: node check failed: node {fake_node.url()} {expected}" in out


def test_a_malformed_url_for_one_network_does_not_stop_the_others(devnet, broken_base_url, merchant_client):
    result = scan_network("devnet")

    assert result.ok and network_is_healthy("devnet")
    assert not network_is_healthy("base")
    rows = {r.slug: r for r in network_health()}
    assert not rows["devnet"].stalled
    assert rows["base"].stalled and rows["base"].problem.startswith("configuration: RPC URL for network 'base'")
    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert "configuration:" in html and "must be http(s)" in html and "secret" not in html
    code, out = chainhealth()
    assert code == 1 and "base: STALLED: configuration:" in out


def test_the_page_needs_a_login_and_htmx_gets_the_table_alone(devnet, merchant_client):
    from django.test import Client

    anonymous = Client().get(reverse("chain:health"))
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]

    fragment = merchant_client.get(reverse("chain:health"), headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and 'id="health-table"' in html and "<html" not in html


def test_a_network_that_is_not_enabled_is_not_healthy(db):
    assert not network_is_healthy("polygon")
    assert not network_is_healthy("no-such-network")
