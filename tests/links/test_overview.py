"""The dashboard home (Overview) and All Payments' date filter and totals, checked against
links paid with known deposits (recorded as the scanner records them; links.status
derives the rest)."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from links.models import LinkStatus, PaymentLink
from links.services import link_create
from members.models import Member, Project
from tests.links.pay_support import deposit, make_quote

pytestmark = pytest.mark.django_db

# Wednesday 16 December 2026, noon UTC: the week began Monday the 14th, the month on the 1st.
NOW = datetime(2026, 12, 16, 12, 0, tzinfo=UTC)
USDC = 10**6
ETH = 10**18


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def pay(evm_address, link, units: int, *, when: datetime, asset: str = "USDC", network: str = "base", due: int | None = None):
    """The customer quoted at `when` and paid `units` then; 30 confirmations."""
    address = evm_address(of_project=link.project)
    link.deposit_addresses.add(address)
    make_quote(link, address, network=network, asset=asset, amount_due=due or units, created_at=when)
    deposit(address, units, network=network, asset=asset, confirmations=30, seen_at=when)
    link.refresh_from_db()
    return link


def made(project, member, amount: str, *, created: datetime, currency: str = "USD", description: str = "") -> PaymentLink:
    link = link_create(project=project, member=member, amount=Decimal(amount), currency=currency, description=description)
    PaymentLink.objects.filter(pk=link.pk).update(created_at=created)
    link.refresh_from_db()
    return link


@pytest.fixture
def book(clock, project, member, merchant, evm_address, other_project):
    """Corner Shop: $10 today, $25.50 on Monday, 0.02 ETH ($40) on the 2nd, $99 in
    November; an underpaid $8 link. Book Stall: $5 today. A rival's $500 today."""
    stall = Project.objects.create(name="Book Stall")
    stall.owners.add(merchant)
    bob = Member.objects.create(project=stall, email="bob@example.com")
    today = NOW.replace(hour=9)
    links = {
        "today": pay(evm_address, made(project, member, "10.00", created=today), 10 * USDC, when=today),
        "monday": pay(
            evm_address, made(project, member, "25.50", created=NOW - timedelta(days=2)), 25_500_000, when=NOW - timedelta(days=2)
        ),
        "eth": pay(
            evm_address,
            made(project, member, "40.00", created=NOW - timedelta(days=14)),
            2 * ETH // 100,
            asset="ETH",
            when=NOW - timedelta(days=14),
        ),
        "november": pay(
            evm_address,
            made(project, member, "99.00", created=NOW - timedelta(days=16)),
            99 * USDC,
            when=NOW - timedelta(days=16),
        ),
        "underpaid": pay(
            evm_address,
            made(project, member, "8.00", created=NOW - timedelta(hours=1)),
            3 * USDC,
            due=8 * USDC,
            when=NOW - timedelta(minutes=30),
        ),
        "stall": pay(evm_address, made(stall, bob, "5.00", created=today), 5 * USDC, when=today),
    }
    rival = Member.objects.create(project=other_project, email="rival-customer@example.com")
    links["rival"] = pay(evm_address, made(other_project, rival, "500.00", created=today), 500 * USDC, when=today)
    assert [links[k].status for k in ("today", "monday", "eth", "november", "stall", "rival")] == [LinkStatus.SUCCESSFUL] * 6
    assert links["underpaid"].status_detail == "underpaid"
    return links


def _cells(html: str, table_id: str) -> list[list[str]]:
    block = re.search(rf'id="{table_id}".*?</table>', html, re.S)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", block, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


def test_received_today_this_week_and_this_month_per_project(merchant_client, book, project):
    html = merchant_client.get("/").content.decode()
    shop = _cells(html, f"received-{project.pk}")
    assert shop == [
        ["", "Today", "This week", "This month"],
        ["USD", "$10.00", "$35.50", "$75.50"],  # November's $99 is not this month
        ["ETH on Base", "—", "—", "0.02"],
        ["USDC on Base", "10", "35.5", "35.5"],
        ["Payments", "1", "2", "3"],
    ]
    stall = _cells(html, f"received-{book['stall'].project_id}")
    assert stall[1] == ["USD", "$5.00", "$5.00", "$5.00"]
    assert "$500.00" not in html and "rival-customer@example.com" not in html  # another merchant's


def test_counts_by_status_and_links_needing_attention(merchant_client, book):
    response = merchant_client.get("/")
    counts = {s["status"]: s["count"] for s in response.context["statuses"]}
    assert counts == {"pending": 1, "successful": 5, "cancelled": 0, "expired": 0}
    attention = response.context["attention"]
    assert attention.counts == {"underpaid": 1, "refund_due": 0, "paid_late": 0}
    assert [link.pk for link in attention.links] == [book["underpaid"].pk]
    html = response.content.decode()
    assert f'href="/payments/{book["underpaid"].code}/"' in html and "Underpaid" in html


def test_refund_due_and_paid_late_links_need_attention(merchant_client, book, project, member, evm_address):
    late = made(project, member, "12.00", created=NOW - timedelta(days=3))
    address = evm_address()
    late.deposit_addresses.add(address)
    make_quote(late, address, network="base", asset="USDC", amount_due=12 * USDC, created_at=NOW - timedelta(days=3))
    deposit(address, 12 * USDC, network="base", asset="USDC", confirmations=30, seen_at=NOW - timedelta(days=3, minutes=-30))
    late.refresh_from_db()
    assert late.status_detail == "paid_late"
    PaymentLink.objects.filter(pk=book["eth"].pk).update(status_detail="refund_due", status=LinkStatus.EXPIRED)
    attention = merchant_client.get("/").context["attention"]
    assert attention.counts == {"underpaid": 1, "refund_due": 1, "paid_late": 1}
    assert {link.pk for link in attention.links} == {book["underpaid"].pk, book["eth"].pk, late.pk}


def test_the_chart_is_server_drawn_svg_of_the_last_30_days(merchant_client, book):
    html = merchant_client.get("/").content.decode()
    svg = ET.fromstring(re.search(r'<svg class="chart".*?</svg>', html, re.S)[0])
    ns = "{http://www.w3.org/2000/svg}"
    bars = svg.findall(f"{ns}rect")
    titles = sorted(bar.find(f"{ns}title").text for bar in bars)
    assert titles == [
        "2026-11-30: 1 payment, $99.00",
        "2026-12-02: 1 payment, $40.00",
        "2026-12-14: 1 payment, $25.50",
        "2026-12-16: 2 payments, $15.00",
    ]
    heights = {b.find(f"{ns}title").text[:10]: float(b.get("height")) for b in bars}
    assert heights["2026-11-30"] == pytest.approx(2 * heights["2026-12-02"] * 99 / 80)  # proportional to the amount
    assert [t.text for t in svg.findall(f"{ns}text")][:3] == ["$100.00", "$50.00", "$0.00"]  # the axis
    assert "<script" not in re.search(r'<svg class="chart".*?</svg>', html, re.S)[0]
    assert "$179.50 in 5 payments" in html  # 99 + 40 + 25.50 + 15: the underpaid link is not received


def test_the_overview_costs_the_same_queries_for_many_links(merchant_client, book, project, member, evm_address):
    with CaptureQueriesContext(connection) as few:
        merchant_client.get("/")
    for i in range(15):
        when = NOW - timedelta(days=i % 20, hours=1)
        pay(evm_address, made(project, member, "1.00", created=when), USDC, when=when)
    with CaptureQueriesContext(connection) as many:
        response = merchant_client.get("/")
    assert len(many) == len(few)
    shop = next(r for r in response.context["received"] if r.project_id == project.pk)
    assert shop.payments["month"] > 3


def test_a_new_merchant_is_welcomed(client, other_merchant):
    client.force_login(other_merchant)  # no project yet
    html = client.get("/").content.decode()
    assert "creating a project" in html


# --- All Payments: a date range and the totals of the filtered view -------------------------


def test_all_payments_filters_by_created_date(merchant_client, book):
    rows = merchant_client.get("/payments/?from=2026-12-14&to=2026-12-16").context["rows"]
    assert {r["link"].pk for r in rows} == {book[k].pk for k in ("today", "monday", "underpaid", "stall")}
    only_the_2nd = merchant_client.get("/payments/?from=2026-12-02&to=2026-12-02").context["rows"]
    assert [r["link"].pk for r in only_the_2nd] == [book["eth"].pk]
    backwards = merchant_client.get("/payments/?from=2026-12-02&to=2026-11-30").context["rows"]
    assert {r["link"].pk for r in backwards} == {book["eth"].pk, book["november"].pk}
    ignored = merchant_client.get("/payments/?from=yesterday&to=2026-13-45")
    assert ignored.status_code == 200 and len(ignored.context["rows"]) == 6


def test_all_payments_totals_are_of_the_filtered_view(merchant_client, book):
    response = merchant_client.get("/payments/?from=2026-12-14&to=2026-12-16")
    totals = response.context["totals"]
    assert totals.links == 4 and totals.paid == 3
    assert totals.asked == ["$48.50"]  # 10 + 25.50 + 8 + 5
    assert totals.received == ["$40.50"]  # the underpaid link is not received
    assert totals.coins == ["40.5 USDC on Base"]
    assert [(s["status"], s["count"]) for s in totals.by_status] == [("pending", 1), ("successful", 3)]
    html = response.content.decode()
    assert re.search(r'id="totals-received">\$40.50<', html) and 'id="totals-coins">40.5 USDC on Base<' in html
    assert merchant_client.get("/payments/").context["totals"] is None  # unfiltered: nothing counted past the page
    everything = merchant_client.get("/payments/?from=2026-01-01").context["totals"]
    assert everything.received == ["$179.50"] and everything.coins == ["0.02 ETH on Base", "139.5 USDC on Base"]
    shop_only = merchant_client.get(f"/payments/?project={book['stall'].project_id}").context["totals"]
    assert shop_only.received == ["$5.00"] and shop_only.links == 1


def test_the_csv_export_keeps_the_date_range(merchant_client, book):
    response = merchant_client.get("/payments/export.csv?from=2026-12-02&to=2026-12-02")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == [book["eth"].code]
    page = merchant_client.get("/payments/?from=2026-12-02&to=2026-12-02").content.decode()
    assert 'href="/payments/export.csv?from=2026-12-02&amp;to=2026-12-02"' in page


def test_totals_cost_the_same_queries_for_many_links(merchant_client, book, project, member, evm_address):
    with CaptureQueriesContext(connection) as few:
        merchant_client.get("/payments/?from=2026-12-01")
    for _ in range(12):
        pay(evm_address, made(project, member, "2.00", created=NOW - timedelta(hours=2)), 2 * USDC, when=NOW - timedelta(hours=2))
    with CaptureQueriesContext(connection) as many:
        response = merchant_client.get("/payments/?from=2026-12-01")
    assert len(many) == len(few)
    assert response.context["totals"].received == ["$104.50"]  # 80.50 + 12 × 2


def test_staff_see_their_projects_overview_and_lose_it_when_removed(client, book, project, django_user_model):
    from members.team_models import TeamMember

    staff = django_user_model.objects.create_user(username="sam", email="sam@example.com", password="x-9-long-pass")
    seat = TeamMember.objects.create(project=project, user=staff, role="staff")
    client.force_login(staff)
    response = client.get("/")
    assert [r.project_id for r in response.context["received"]] == [project.pk]  # not Book Stall, not the rival
    assert _cells(response.content.decode(), f"received-{project.pk}")[1] == ["USD", "$10.00", "$35.50", "$75.50"]
    assert {s["status"]: s["count"] for s in response.context["statuses"]}["successful"] == 4
    seat.delete()
    gone = client.get("/")
    assert gone.context["received"] == [] and "$35.50" not in gone.content.decode()
    assert sum(s["count"] for s in gone.context["statuses"]) == 0
