"""A link shared outside payram (docs/link-sharing.md): the card a chat app draws from the
pay page's Open Graph / Twitter tags, its preview image, the hosted QR and the Embed
panel's snippets. A crawler's fetch changes nothing and is not refused like a flood."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.core import mail
from django.utils import timezone
from PIL import Image

from links.models import LinkStatus, PaymentLink, Quote
from tests.links.pay_support import make_link
from tests.links.test_checkout import FIRST_ADDRESS, shop, stall  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"
CRAWLERS = {
    "WhatsApp": "WhatsApp/2.23.20.0 A",
    "Telegram": "TelegramBot (like TwitterBot)",
    "iMessage": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "Slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Discord": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
}


class _Head(HTMLParser):
    """The <meta property|name=… content=…> tags of a page, as a crawler reads them."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("property") or a.get("name")) and "content" in a:
            self.meta.setdefault(a.get("property") or a.get("name"), a["content"])
        if tag == "script":
            self.scripts.append(a)


def tags(response) -> dict[str, str]:
    parser = _Head()
    parser.feed(response.content.decode())
    return parser.meta


def every_row() -> dict[str, list[dict]]:
    """Every row of every table, in full: what a read-only request must leave as it found."""
    return {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in apps.get_models()}


@pytest.fixture
def link(shop, member):  # noqa: F811
    return make_link(shop, member, amount="42.50", description="Guitar lessons & strings")


def test_the_pay_page_carries_the_card_tags(client, link, settings):
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    meta = tags(client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=BROWSER))
    assert meta["og:title"] == "Pay $42.50 to Corner Shop"
    assert meta["og:site_name"] == "Corner Shop"
    assert meta["og:description"] == "Guitar lessons & strings"  # parsed: the page escaped it
    assert meta["og:url"] == f"https://pay.example.com/pay/{link.code}/"
    image = urlparse(meta["og:image"])
    assert (image.scheme, image.netloc, image.path) == ("https", "pay.example.com", f"/pay/{link.code}/preview.png")
    assert meta["og:image:width"] == "1200" and meta["og:image:height"] == "630"
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["twitter:image"] == meta["og:image"] and meta["twitter:title"] == meta["og:title"]
    assert "alice@example.com" not in " ".join(meta.values())  # the customer is never on the card


def test_a_description_free_link_says_who_asks_for_how_much(client, shop, member):  # noqa: F811
    link = make_link(shop, member, amount="9.99", description="")
    meta = tags(client.get(f"/pay/{link.code}/"))
    assert meta["og:description"] == "Payment request from Corner Shop: $9.99"


def test_a_paid_link_says_so_on_its_card(client, link):
    PaymentLink.objects.filter(pk=link.pk).update(status=LinkStatus.SUCCESSFUL, status_detail="settled")
    meta = tags(client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=CRAWLERS["Slack"]))
    assert meta["og:title"] == "Pay $42.50 to Corner Shop (Paid)"


@pytest.mark.parametrize("app", sorted(CRAWLERS))
def test_a_crawler_fetch_changes_nothing(client, link, app):
    # The customer picked a coin (an address is allocated); then the link's own expiry
    # passed, so a status refresh would have something to write.
    assert client.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDC"}).status_code == 302
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    before = every_row()
    for path in (f"/pay/{link.code}/", f"/pay/{link.code}/preview.png", f"/pay/{link.code}/qr.png"):
        response = client.get(path, HTTP_USER_AGENT=CRAWLERS[app])
        assert response.status_code == 200, path
    assert every_row() == before
    assert mail.outbox == []
    page = client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=CRAWLERS[app])
    html = page.content.decode()
    assert tags(page)["og:title"] == "Pay $42.50 to Corner Shop"
    assert Quote.objects.get(link=link).deposit_address.address == FIRST_ADDRESS
    assert FIRST_ADDRESS not in html and FIRST_ADDRESS.lower() not in html  # no payment instructions
    assert PaymentLink.objects.get(pk=link.pk).status == LinkStatus.PENDING  # not refreshed to Expired


def test_a_crawler_is_never_limited_like_a_customer(client, link, settings):
    settings.PAYRAM_RATE_LIMITS = {"pay_page_ip": (2, 60), "pay_page_link": (2, 60)}
    for _ in range(10):
        assert client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=CRAWLERS["Telegram"]).status_code == 200
        assert client.get(f"/pay/{link.code}/preview.png", HTTP_USER_AGENT=CRAWLERS["Telegram"]).status_code == 200
    # The crawler used none of the customers' budget, which is live: the third load is refused.
    assert [client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=BROWSER).status_code for _ in range(3)] == [200, 200, 429]


def test_a_flood_of_previews_is_stopped(client, link, settings):
    settings.PAYRAM_RATE_LIMITS = {"pay_preview_ip": (3, 60)}
    answers = [client.get(f"/pay/{link.code}/qr.svg").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get(f"/pay/{link.code}/", HTTP_USER_AGENT=CRAWLERS["Slack"])
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


def test_the_preview_image_is_a_card_sized_png(client, link):
    response = client.get(f"/pay/{link.code}/preview.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "public" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    assert image.size == (1200, 630) and image.format == "PNG"
    again = client.get(f"/pay/{link.code}/preview.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_preview_image_reads_what_the_card_says(client, link):
    zxingcpp = pytest.importorskip("zxingcpp")
    image = Image.open(io.BytesIO(client.get(f"/pay/{link.code}/preview.png").content))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"http://127.0.0.1:8000/pay/{link.code}/"]


def test_the_hosted_qr_png_encodes_the_pay_url(client, link, settings):
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    response = client.get(f"/pay/{link.code}/qr.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=86400"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 200
    zxingcpp = pytest.importorskip("zxingcpp")
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"https://pay.example.com/pay/{link.code}/"]


def test_the_hosted_qr_svg_is_a_standalone_image(client, link):
    response = client.get(f"/pay/{link.code}/qr.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and int(root.get("width")) == int(root.get("height")) >= 200
    assert root.find(f"{ns}rect").get("fill") == "#ffffff" and root.find(f"{ns}path").get("fill") == "#000000"
    assert not root.findall(f".//{ns}script") and b"<script" not in response.content


def test_unknown_codes_have_no_images(client, db):
    for path in ("/pay/nope/qr.png", "/pay/nope/qr.svg", "/pay/nope/preview.png", "/pay/a.b/qr.png"):
        assert client.get(path).status_code == 404
    assert client.get("/pay/nope/", HTTP_USER_AGENT=CRAWLERS["Slack"]).status_code == 404


class _Snippet(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data


def _textarea(html: str, ident: str) -> str:
    import html as htmllib

    found = re.search(rf'<textarea id="{ident}"[^>]*>(.*?)</textarea>', html, re.S)
    return htmllib.unescape(found[1])


def _input(html: str, ident: str) -> str:
    import html as htmllib

    return htmllib.unescape(re.search(rf'<input type="text" id="{ident}" value="([^"]*)"', html)[1])


def test_the_embed_panel_gives_a_script_free_button_markdown_and_qr_urls(merchant_client, link, settings):
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    html = merchant_client.get(f"/payments/{link.code}/").content.decode()
    pay_url = f"https://pay.example.com/pay/{link.code}/"

    button = _Snippet()
    button.feed(_textarea(html, "embed-html"))
    names = [t for t, _ in button.tags]
    assert "script" not in names and "style" not in names and "img" not in names
    assert all("class" not in a and not any(k.startswith("on") for k in a) for _, a in button.tags)
    anchors = [a for t, a in button.tags if t == "a"]
    assert [a["href"] for a in anchors] == [pay_url]
    assert "background-color:#3b5bdb" in anchors[0]["style"] and "color:#ffffff" in anchors[0]["style"]
    assert button.text == "Pay $42.50 with crypto"

    assert _input(html, "embed-markdown") == f"[Pay $42\\.50 to Corner Shop]({pay_url})"
    assert _input(html, "embed-qr-png") == f"https://pay.example.com/pay/{link.code}/qr.png"
    assert _input(html, "embed-qr-svg") == f"https://pay.example.com/pay/{link.code}/qr.svg"
    qr_img = _Snippet()
    qr_img.feed(_textarea(html, "embed-qr-img"))
    assert [(t, a.get("href") or a.get("src")) for t, a in qr_img.tags] == [
        ("a", pay_url),
        ("img", f"https://pay.example.com/pay/{link.code}/qr.png"),
    ]


def test_the_snippets_escape_what_the_merchant_typed(merchant_client, shop, member):  # noqa: F811
    shop.name = 'Shop "<b>" [x](javascript:alert(1))'
    shop.save()
    link = make_link(shop, member, amount="5.00")
    html = merchant_client.get(f"/payments/{link.code}/").content.decode()
    markdown = _input(html, "embed-markdown")
    assert "](javascript" not in markdown and "\\[x\\]\\(javascript:alert\\(1\\)\\)" in markdown
    qr_img = _Snippet()
    qr_img.feed(_textarea(html, "embed-qr-img"))
    assert [t for t, _ in qr_img.tags] == ["a", "img"]  # the name stayed inside alt=""
    assert qr_img.tags[1][1]["alt"] == 'Pay $5.00 to Shop "<b>" [x](javascript:alert(1))'
