"""Merchant-typed text (member names, descriptions, project names, return URLs) with
script or markup is shown as text on every page that shows it; return URLs are http(s) only."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from links.models import PaymentLink
from members.models import Member, Project
from tests.links.pay_support import deposit

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert("pwn")</script><img src=x onerror=alert(1)><b>bold</b>'
ESCAPED = "&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt;"


def _assert_text_only(html: str, where: str) -> None:
    assert "<script>alert" not in html, f"{where}: raw <script> from user input"
    assert "<img src=x" not in html and "<b>bold</b>" not in html, f"{where}: raw markup from user input"
    assert ESCAPED in html, f"{where}: the text itself is not shown"


@pytest.fixture
def hostile(world):
    Project.objects.filter(pk=world.project_a.pk).update(name=f"Shop {PAYLOAD}")
    Member.objects.filter(pk=world.member_a.pk).update(name=f"Name {PAYLOAD}")
    PaymentLink.objects.filter(pk=world.link_a.pk).update(description=f"Desc {PAYLOAD}")
    return world


def test_dashboard_pages_show_markup_as_text(hostile):
    owner = Client()
    owner.force_login(hostile.merchant_a)
    link, member, project = hostile.link_a, hostile.member_a, hostile.project_a
    pages = [
        "/payments/",
        f"/payments/{link.code}/",
        f"/payments/{link.code}/cancel/",
        "/members/",
        f"/members/{member.pk}/",
        "/members/projects/",
        f"/members/projects/{project.pk}/",
        f"/members/search/?project={project.pk}&member={member.email[:5]}",
        "/chain/wallets/",
        "/webhooks/",
    ]
    for url in pages:
        response = owner.get(url)
        assert response.status_code == 200, url
        _assert_text_only(response.content.decode(), url)


def test_pay_page_shows_markup_as_text(hostile):
    html = Client().get(f"/pay/{hostile.link_a.code}/").content.decode()
    _assert_text_only(html, "pay page")


def test_search_text_is_echoed_as_text(world):
    owner = Client()
    owner.force_login(world.merchant_a)
    html = owner.get("/members/search/", {"project": world.project_a.pk, "member": PAYLOAD}).content.decode()
    assert "<script>alert" not in html
    html = owner.get("/payments/", {"q": PAYLOAD}).content.decode()
    assert "<script>alert" not in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://example.com/",
        "//evil.example/",
        "https://",
        "http://exa mple.com/",
    ],
)
def test_project_form_refuses_non_http_return_urls(world, url):
    owner = Client()
    owner.force_login(world.merchant_a)
    before = Project.objects.get(pk=world.project_a.pk).return_url
    response = owner.post(f"/members/projects/{world.project_a.pk}/", {"name": "Shop", "return_url": url})
    assert response.status_code == 400
    assert "starting with http:// or https://" in response.content.decode()
    assert Project.objects.get(pk=world.project_a.pk).return_url == before
    count = Project.objects.count()
    assert owner.post("/members/projects/", {"name": "Another", "return_url": url}).status_code == 400
    assert Project.objects.count() == count


def _paid(world):
    from links.models import Quote

    quote = Quote.objects.filter(link=world.link_a).first()
    deposit(quote.deposit_address, int(quote.amount_due), confirmations=50)


def test_return_url_with_markup_is_an_attribute_not_markup(world):
    hostile_url = 'https://shop.example.com/thanks?x="><script>alert(1)</script>'
    Project.objects.filter(pk=world.project_a.pk).update(return_url=hostile_url)
    _paid(world)
    html = Client().get(f"/pay/{world.link_a.code}/").content.decode()
    assert "Return to" in html  # the paid page offers the way back
    assert "<script>alert(1)" not in html
    assert 'href="https://shop.example.com/thanks?x=&quot;&gt;&lt;script&gt;' in html


def test_a_stored_javascript_return_url_is_never_a_link(world):
    """Even a value that got past the form (older data, the admin) is not rendered as a link."""
    Project.objects.filter(pk=world.project_a.pk).update(return_url="javascript:alert(document.cookie)")
    _paid(world)
    html = Client().get(f"/pay/{world.link_a.code}/").content.decode()
    assert "javascript:" not in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("/", "http://", "https://", "#")) or h.startswith(("bitcoin:", "ethereum:")) for h in hrefs), hrefs
