import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from links.services import link_cancel, link_create
from members.models import Member

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def links(project, member, merchant):
    from members.models import Project

    second = Project.objects.create(name="Book Stall")
    second.owners.add(merchant)
    bob = Member.objects.create(project=second, email="bob@example.com")
    first = link_create(project=project, member=member, amount=Decimal("10.00"), description="Lunch")
    cancelled = link_cancel(link=link_create(project=second, member=bob, amount=Decimal("20.00"), description="Novel"))
    newest = link_create(project=project, member=member, amount=Decimal("30.00"), description="Dinner")
    return first, cancelled, newest


def test_lists_newest_first_with_status(merchant_client, links):
    first, cancelled, newest = links
    response = merchant_client.get("/payments/")
    rows = [row["link"] for row in response.context["rows"]]
    assert rows == [newest, cancelled, first]
    body = response.content.decode()
    assert body.index("$30.00") < body.index("$20.00") < body.index("$10.00")
    assert "badge-cancelled" in body and "Awaiting payment" in body


def test_filter_by_status_project_and_search(merchant_client, links):
    first, cancelled, newest = links
    by_status = merchant_client.get("/payments/?status=cancelled").context["rows"]
    assert [r["link"] for r in by_status] == [cancelled]
    by_project = merchant_client.get(f"/payments/?project={first.project_id}").context["rows"]
    assert [r["link"] for r in by_project] == [newest, first]
    by_email = merchant_client.get("/payments/?q=BOB@").context["rows"]
    assert [r["link"] for r in by_email] == [cancelled]
    by_description = merchant_client.get("/payments/?q=dinn").context["rows"]
    assert [r["link"] for r in by_description] == [newest]
    nothing = merchant_client.get("/payments/?q=zzz")
    assert "No payment link matches these filters" in nothing.content.decode()


def test_another_merchants_links_and_project_filter_are_ignored(client, other_merchant, other_project, links):
    theirs = Member.objects.create(project=other_project, email="rival-customer@example.com")
    link_create(project=other_project, member=theirs, amount=Decimal("99.00"))
    client.force_login(other_merchant)
    rows = client.get(f"/payments/?project={links[0].project_id}").context["rows"]
    assert [r["link"].member.email for r in rows] == ["rival-customer@example.com"]
    exported = _csv(client.get("/payments/export.csv"))
    assert [row[3] for row in exported[1:]] == ["rival-customer@example.com"]


def test_fifty_a_page_and_constant_query_count(merchant_client, project, member):
    for i in range(3):
        link_create(project=project, member=member, amount=Decimal(i + 1))
    with CaptureQueriesContext(connection) as few:
        merchant_client.get("/payments/")
    for i in range(60):
        link_create(project=project, member=member, amount=Decimal(i + 1))
    with CaptureQueriesContext(connection) as many:
        response = merchant_client.get("/payments/")
    assert len(response.context["rows"]) == 50
    assert len(many) == len(few)
    assert "Page 1 of 2" in response.content.decode()
    second = merchant_client.get("/payments/?page=2")
    assert len(second.context["rows"]) == 13


def test_past_the_count_cap_the_total_is_not_counted_and_paging_goes_on(merchant_client, project, member, monkeypatch):
    from payram.lib import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 60)
    made = [link_create(project=project, member=member, amount=Decimal(i + 1)) for i in range(130)]

    with CaptureQueriesContext(connection) as queries:
        first = merchant_client.get("/payments/")
    body = first.content.decode()
    assert "Page 1 · more than 60 in all" in body and "Older" in body
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 61" in counts[0]  # never counts all 130

    third = merchant_client.get("/payments/?page=3")
    assert [r["link"].pk for r in third.context["rows"]] == [
        link.pk for link in reversed(made[:30])
    ]  # the oldest 30, newest first
    assert "Page 3 · more than 60" in third.content.decode() and "Older" not in third.content.decode()
    assert "Newer" in third.content.decode()
    beyond = merchant_client.get("/payments/?page=9")
    assert beyond.status_code == 200 and len(beyond.context["rows"]) == 50  # back to the newest


def test_amount_received_uses_the_asset_decimals(merchant_client, project, member):
    link = link_create(project=project, member=member, amount=Decimal("12.50"))
    PaymentLink.objects.filter(pk=link.pk).update(
        status=LinkStatus.SUCCESSFUL,
        status_detail="paid",
        amount_received=12_500_000,
        received_network="base",
        received_asset="USDC",
        paid_at=timezone.now() - timedelta(minutes=5),
    )
    body = merchant_client.get("/payments/").content.decode()
    assert "12.5 USDC" in body and "on Base" in body and "Successful" in body
    row = _csv(merchant_client.get("/payments/export.csv"))[1]
    assert row[10:13] == ["12.5", "USDC", "Base"]


def test_csv_export_of_the_filtered_view(merchant_client, links):
    first, cancelled, newest = links
    page = merchant_client.get("/payments/?status=cancelled&q=novel").content.decode()
    assert 'href="/payments/export.csv?status=cancelled&amp;q=novel"' in page
    response = merchant_client.get("/payments/export.csv?status=cancelled&q=novel")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:9] == [
        "Created (UTC)",
        "Code",
        "Project",
        "Member email",
        "Member name",
        "Amount asked",
        "Currency",
        "Description",
        "Status",
    ]
    assert len(rows) == 2
    assert rows[1][1:9] == [cancelled.code, "Book Stall", "bob@example.com", "", "20.00", "USD", "Novel", "Cancelled"]


def test_csv_cells_cannot_run_as_formulas(merchant_client, project):
    evil = Member.objects.create(project=project, email="x@example.com", name='=HYPERLINK("http://evil")')
    link_create(project=project, member=evil, amount=Decimal("5"), description="+cmd|' /C calc'!A0")
    row = _csv(merchant_client.get("/payments/export.csv"))[1]
    assert row[4] == '\'=HYPERLINK("http://evil")'
    assert row[7] == "'+cmd|' /C calc'!A0"
    assert row[5] == "5.00"


def test_csv_is_safe_in_semicolon_and_other_locales(merchant_client, project, member):
    """Every field quoted, and no formula starts after any separator a spreadsheet may
    split on, even one that ignores the quotes."""
    for description in ("Order 1;=1+1", "a,@SUM(1)", "b\t-2+3", "c|=cmd", "d; +1", "e\n=2"):
        link_create(project=project, member=member, amount=Decimal("5"), description=description)
    text = b"".join(merchant_client.get("/payments/export.csv").streaming_content).decode()
    rows = _csv_from_text(text)
    assert sorted(row[7] for row in rows[1:]) == ["Order 1;'=1+1", "a,'@SUM(1)", "b\t'-2+3", "c|'=cmd", "d; '+1", "e\n'=2"]
    requoted = io.StringIO()
    csv.writer(requoted, quoting=csv.QUOTE_ALL).writerows(rows)
    assert text == requoted.getvalue()  # every field quoted
    for separator in (",", ";", "\t", "|", "\n"):
        for piece in text.split(separator):
            assert not piece.strip(' "\r').startswith(("=", "+", "-", "@")), (separator, piece)


def _csv_from_text(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_new_merchant_is_pointed_to_create_a_project(merchant_client):
    body = merchant_client.get("/payments/").content.decode()
    assert "Start by" in body and 'href="/members/projects/">creating a project' in body


# --- Transactions: each link's deposits, prefetched ----------------------------------------

from tests.links.pay_support import deposit, make_quote  # noqa: E402


def _paid_with(evm_address, link, *tx_hashes: str, network: str = "base") -> None:
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, network=network, asset="USDC", amount_due=10_000_000)
    for tx in tx_hashes:
        deposit(address, 5_000_000, network=network, asset="USDC", confirmations=30, tx_hash=tx)


def test_transactions_column_shows_count_and_short_hashes_linked_to_the_explorer(merchant_client, project, member, evm_address):
    link = link_create(project=project, member=member, amount=Decimal("10.00"))
    tx1, tx2 = "0x" + "a1" * 32, "0x" + "b2" * 32
    _paid_with(evm_address, link, tx1, tx2)
    link_create(project=project, member=member, amount=Decimal("3.00"))  # nothing paid yet
    body = merchant_client.get("/payments/").content.decode()
    assert "<th>Transactions</th>" in body
    assert "2 transactions" in body
    assert f'href="https://basescan.org/tx/{tx1}"' in body and f'title="{tx2}"' in body
    assert "0xa1a1a1…a1a1a1<" in body  # shortened, the full hash in the title and the link
    assert f">{tx1}<" not in body


def test_orphaned_and_uncounted_transactions_are_flagged_in_the_list(merchant_client, project, member, evm_address):
    link = link_create(project=project, member=member, amount=Decimal("10.00"))
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, network="devnet", asset="USDC", amount_due=10_000_000)
    deposit(address, 10_000_000, network="devnet", asset="USDC", confirmations=0, orphaned=True, tx_hash="0x" + "0d" * 32)
    deposit(address, 10**15, network="devnet", asset="ETH", confirmations=3, tx_hash="0x" + "e7" * 32)
    body = merchant_client.get("/payments/").content.decode()
    assert "2 transactions" in body and ">orphaned<" in body and ">not counted<" in body
    assert 'href="' + "0x" + "0d" * 32 not in body  # devnet has no explorer: not a link


def test_transactions_do_not_add_queries_per_row(merchant_client, project, member, evm_address):
    first = link_create(project=project, member=member, amount=Decimal("10.00"))
    _paid_with(evm_address, first, "0x" + "01" * 32)
    merchant_client.get("/payments/")
    with CaptureQueriesContext(connection) as few:
        merchant_client.get("/payments/")
    for i in range(8):
        link = link_create(project=project, member=member, amount=Decimal("10.00"))
        _paid_with(evm_address, link, "0x" + f"{i:02x}" * 31 + "aa", "0x" + f"{i:02x}" * 31 + "bb")
    with CaptureQueriesContext(connection) as many:
        response = merchant_client.get("/payments/")
    assert sum(len(row["transactions"]) for row in response.context["rows"]) == 17
    assert len(many) == len(few)


def test_csv_export_lists_transactions(merchant_client, project, member, evm_address):
    link = link_create(project=project, member=member, amount=Decimal("10.00"))
    tx1, tx2 = "0x" + "c3" * 32, "0x" + "d4" * 32
    _paid_with(evm_address, link, tx1, tx2)
    link_create(project=project, member=member, amount=Decimal("3.00"))
    rows = _csv(merchant_client.get("/payments/export.csv"))
    assert rows[0][-3:] == ["Transactions", "Transaction hashes", "Refund"]
    unpaid, paid = rows[1], rows[2]
    assert unpaid[-3:] == ["0", "", ""]
    assert paid[-3:] == ["2", f"{tx1}; {tx2}", ""]
    assert paid[8:13] == ["Successful", "", "10", "USDC", "Base"]
