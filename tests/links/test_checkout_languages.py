"""The checkout in the customer's language (links.checkout_language): the pay page, the
receipt and the customer's emails in English, Spanish, Portuguese (Brazil), French and
Turkish; the dashboard stays English; coin amounts, addresses and QR payloads stay in the
wallet's form in every language."""

from __future__ import annotations

import ast
import gettext
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from chain import catalogue
from links.models import PaymentLink, Quote
from links.notifications.models import EmailKind, OutboundEmail
from tests.links.pay_support import deposit, make_link
from tests.links.test_checkout import FIRST_ADDRESS, shop, stall  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

LANGUAGES = ["es", "pt-br", "fr", "tr"]
LOCALE = Path(__file__).resolve().parents[2] / "locale"
# Words of English that none of the other four uses, looked for inside every text node.
# Words spelt the same in English and a language (translated, and the same).
SAME_WORDS = {"fr": {"Transaction", "Confirmations"}}
ENGLISH_WORDS = {"the", "your", "payment", "pay", "send", "with", "and", "of", "to", "please", "this", "quote", "received"}


class _VisibleText(HTMLParser):
    """What a customer reads (or a screen reader says): text nodes outside script, style
    and the QR's SVG, plus the words carried in attributes (aria-label, the JS words)."""

    SKIP = {"script", "style", "svg"}
    WORD_ATTRS = {"aria-label", "title", "alt", "placeholder", "data-copied", "data-expired", "data-left"}

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in self.WORD_ATTRS and value:
                self.nodes.append(" ".join(value.split()))

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.skipping:
            self.nodes.append(text)


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.nodes


def allowed_everywhere(link) -> set[str]:
    """Words that are the same in every language: brands, names, codes, coin symbols."""
    names = {name for _, name in django_settings.CHECKOUT_LANGUAGES}
    names |= {network.name for network in catalogue.enabled()}
    words = {"payram", "UTC", "USD", "US$", "$US"} | {asset.symbol for network in catalogue.enabled() for asset in network.assets}
    return words | names | {link.code, link.project.name, link.description}


def untranslated(nodes: list[str], english: list[str], allowed: set[str]) -> list[str]:
    """Text nodes that are also in the English render, or hold English words, and are
    not made only of amounts, codes, addresses and brand names."""

    def innocent(node: str) -> bool:
        if node in allowed:
            return True
        for word in re.split(r"[\s·:()/,.;]+", node):
            if word and re.search(r"[^\W\d_]", word) and word not in allowed and not re.fullmatch(r"0x[0-9a-fA-F]+", word):
                return False
        return True

    allowed = allowed | {w for phrase in allowed for w in re.split(r"[\s·:()/,.;]+", phrase)}
    english_set = set(english)
    found = []
    for node in nodes:
        if innocent(node):
            continue
        words = {w.lower() for w in re.findall(r"[^\W\d_]+", node)}
        if node in english_set or words & ENGLISH_WORDS:
            found.append(node)
    return found


def render(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code in (200, 404), url
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.fixture
def link(shop, member):  # noqa: F811
    return make_link(shop, member, amount="25.00", description="Order #1")


def pick(client, link, choice: str = "devnet:USDC"):
    response = client.post(f"/pay/{link.code}/quote/", {"choice": choice})
    assert response.status_code == 302, response.content.decode()[:500]


def _state_picker(client, link):
    return f"/pay/{link.code}/"


def _state_quote(client, link):
    pick(client, link)
    return f"/pay/{link.code}/"


def _state_quote_expired(client, link):
    pick(client, link)
    Quote.objects.filter(link=link).update(expires_at=timezone.now() - timedelta(seconds=1))
    return f"/pay/{link.code}/"


def _state_payment_seen(client, link):
    pick(client, link)
    deposit(link.quotes.get().deposit_address, 25_000_000, confirmations=0)
    return f"/pay/{link.code}/"


def _state_underpaid(client, link):
    pick(client, link)
    deposit(link.quotes.get().deposit_address, 10_000_000)
    return f"/pay/{link.code}/"


def _state_confirming(client, link):
    pick(client, link)
    deposit(link.quotes.get().deposit_address, 25_000_000, confirmations=1)
    return f"/pay/{link.code}/"


def _state_successful(client, link):
    pick(client, link)
    deposit(link.quotes.get().deposit_address, 25_000_000)
    return f"/pay/{link.code}/"


def _state_receipt(client, link):
    return _state_successful(client, link) + "receipt/"


def _state_expired(client, link):
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return f"/pay/{link.code}/"


def _state_cancelled(client, link):
    pick(client, link)
    PaymentLink.objects.filter(pk=link.pk).update(cancelled_at=timezone.now())
    return f"/pay/{link.code}/"


def _state_not_found(client, link):
    return "/pay/no-such-link/"


STATES = {
    "picker": (_state_picker, "Choose how to pay"),
    "quote": (_state_quote, "Waiting for payment"),
    "quote_expired": (_state_quote_expired, "This quote has expired"),
    "payment_seen": (_state_payment_seen, "Payment seen"),
    "underpaid": (_state_underpaid, "Partly paid"),
    "confirming": (_state_confirming, "Confirming: 1 of 3"),
    "successful": (_state_successful, "Payment successful"),
    "receipt": (_state_receipt, "Amount asked"),
    "expired": (_state_expired, "This payment link has expired"),
    "cancelled": (_state_cancelled, "This payment link was cancelled"),
    "not_found": (_state_not_found, "Payment link not found"),
}


@pytest.mark.parametrize("state", STATES)
def test_every_state_of_the_pay_page_is_translated_in_every_language(client, link, state):
    make_state, english_marker = STATES[state]
    url = make_state(client, link)
    english_html = render(client, url, "en")
    assert english_marker in english_html  # the state really is the one named
    english = visible_text(english_html)
    allowed = allowed_everywhere(link)
    for language in LANGUAGES:
        html = render(client, url, language)
        assert f'<html lang="{language}">' in html
        nodes = visible_text(html)
        assert english_marker not in html
        assert untranslated(nodes, english, allowed | SAME_WORDS.get(language, set())) == [], language
        assert len(nodes) >= len(english) - 2  # nothing dropped (a plural or an inline tag may merge)


def test_the_check_finds_an_english_string_left_behind(client, link):
    """The check above is not blind: an English node in a Spanish render is caught."""
    english = visible_text(render(client, f"/pay/{link.code}/", "en"))
    spanish = visible_text(render(client, f"/pay/{link.code}/", "es"))
    assert untranslated(spanish + ["Choose how to pay"], english, allowed_everywhere(link)) == ["Choose how to pay"]
    assert untranslated(spanish + ["Envía USDC to the address"], english, allowed_everywhere(link)) == [
        "Envía USDC to the address"
    ]


def test_the_words_the_customer_reads(client, link):
    pick(client, link)
    html = render(client, f"/pay/{link.code}/", "es")
    assert "Elige cómo pagar" not in html and "Esperando el pago" in html and "Abrir en la billetera" in html
    deposit(link.quotes.get().deposit_address, 25_000_000)
    assert "Pago recibido" in render(client, f"/pay/{link.code}/", "es")
    assert "Pagamento confirmado" in render(client, f"/pay/{link.code}/", "pt-br")
    assert "Paiement réussi" in render(client, f"/pay/{link.code}/", "fr")
    assert "Ödeme başarılı" in render(client, f"/pay/{link.code}/", "tr")


# Choosing the language


def test_accept_language_chooses_with_q_values_and_regional_variants(client, link):
    url = f"/pay/{link.code}/"
    assert 'lang="fr"' in client.get(url, HTTP_ACCEPT_LANGUAGE="de-DE,fr-CA;q=0.8,en;q=0.5").content.decode()
    assert 'lang="pt-br"' in client.get(url, HTTP_ACCEPT_LANGUAGE="pt-PT").content.decode()
    assert 'lang="es"' in client.get(url, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9").content.decode()
    assert 'lang="tr"' in client.get(url, HTTP_ACCEPT_LANGUAGE="en;q=0.3, tr-TR").content.decode()
    assert 'lang="en"' in client.get(url, HTTP_ACCEPT_LANGUAGE="de, ja").content.decode()  # none of ours: English
    assert 'lang="en"' in client.get(url).content.decode()
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_the_switcher_works_without_javascript_and_is_remembered(link):
    customer = Client()
    url = f"/pay/{link.code}/"
    html = customer.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # Every other language is a plain link (no JavaScript), the current one is marked.
    for code, name in django_settings.CHECKOUT_LANGUAGES:
        if code == "fr":
            assert f'<strong aria-current="true" lang="fr">{name}</strong>' in html
        else:
            assert f'href="{url}?lang={code}"' in html and f">{name}</a>" in html
    response = customer.get(url + "?lang=tr", HTTP_ACCEPT_LANGUAGE="fr")
    assert 'lang="tr"' in response.content.decode() and "Nasıl ödeyeceğinizi seçin" in response.content.decode()
    cookie = response.cookies["payram_lang"]
    assert cookie.value == "tr" and cookie["path"] == "/pay/" and cookie["samesite"] == "Lax"
    # The cookie outranks the browser, on the page, its fragments and the receipt.
    assert 'lang="tr"' in customer.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Nasıl ödeyeceğinizi seçin" in customer.get(f"/pay/{link.code}/status/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Ödeme bağlantısı bulunamadı" in customer.get("/pay/nope/receipt/").content.decode()
    # A language we do not have changes nothing.
    response = customer.get(url + "?lang=xx")
    assert 'lang="tr"' in response.content.decode() and "payram_lang" not in response.cookies


def test_the_dashboard_stays_english(merchant_client, link):
    merchant_client.cookies["payram_lang"] = "es"
    for url in ("/payments/", f"/payments/{link.code}/"):
        response = merchant_client.get(url, HTTP_ACCEPT_LANGUAGE="es")
        assert response.status_code == 200
        html = response.content.decode()
        assert "$25.00" in html and "25,00" not in html
        assert "Content-Language" not in response or response["Content-Language"] == "en"
        assert "Pendiente" not in html and "Idioma" not in html
    # And a pay page rendered in Spanish on the same thread leaves no Spanish behind.
    Client().get(f"/pay/{link.code}/?lang=es")
    assert "$25.00" in merchant_client.get("/payments/").content.decode()


# Money and dates


def test_coin_amounts_addresses_and_qr_stay_in_the_wallets_form(client, shop, member):  # noqa: F811
    """1234.56 USD in ETH at 3000: a fraction of a coin; the fiat in the language's own form."""
    link = make_link(shop, member, amount="1234.56")
    pick(client, link, "devnet:ETH")
    url = f"/pay/{link.code}/"
    english = render(client, url, "en")
    amount = re.search(r'<output class="value mono" id="pay-amount"[^>]*>([^<]+)</output>', english).group(1)
    number = amount.split()[0]
    assert re.fullmatch(r"0\.\d+", number), amount
    uri = re.search(r'href="(ethereum:[^"]+)" id="open-wallet"', english).group(1)
    qr = re.search(r'<path d="([^"]+)"', english).group(1)
    fiat = {
        "en": "$1,234.56",
        "es": "1234,56\xa0US$",
        "pt-br": "US$\xa01.234,56",
        "fr": "1\u202f234,56\xa0$US",
        "tr": "$1.234,56",
    }
    for language in ["en", *LANGUAGES]:
        html = render(client, url, language)
        assert f">{amount}</output>" in html  # shown: dot decimal, no grouping
        assert f'data-copy="{number}"' in html  # the Copy button copies that exact number
        assert f'data-copy="{FIRST_ADDRESS}"' in html and f">{FIRST_ADDRESS}</output>" in html
        assert f'href="{uri}"' in html  # the wallet link carries the same payload
        assert re.search(r'<path d="([^"]+)"', html).group(1) == qr  # the same QR, module for module
        assert fiat[language] in html


def test_dates_are_written_the_languages_way(client, link):
    with time_machine.travel(datetime(2026, 5, 4, 14, 5, 9, tzinfo=UTC), tick=False):
        pick(client, link)
        url = f"/pay/{link.code}/"
        assert "14:20 UTC, 4 May" in render(client, url, "en")  # the quote's expiry
        assert "14:20 UTC, 4 mai" in render(client, url, "fr")
        assert "14:20 UTC, 4 de mayo" in render(client, url, "es")
        deposit(link.quotes.get().deposit_address, 25_000_000)
        url = f"/pay/{link.code}/receipt/"
        assert "4 May 2026, 14:05:09 UTC" in render(client, url, "en")
        assert "4 de mayo de 2026, 14:05:09 UTC" in render(client, url, "es")
        assert "4 de Maio de 2026, 14:05:09 UTC" in render(client, url, "pt-br")
        assert "4 mai 2026, 14:05:09 UTC" in render(client, url, "fr")
        assert "4 Mayıs 2026, 14:05:09 UTC" in render(client, url, "tr")


# The customer's emails


@pytest.fixture
def email_on(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PAYRAM_BASE_URL = "https://pay.example.com"


def test_the_link_and_receipt_emails_are_in_the_language_the_customer_picked(link, email_on, mailoutbox):
    from links.notifications.emails import link_email_to_member

    customer = Client()
    customer.get(f"/pay/{link.code}/")  # a mere view (a chat app's preview, say) records nothing
    link.refresh_from_db()
    assert link.customer_language == ""
    customer.get(f"/pay/{link.code}/?lang=es")
    link.refresh_from_db()
    assert link.customer_language == "es"

    link_email_to_member(link=link)
    email = OutboundEmail.objects.get(kind=EmailKind.LINK_TO_MEMBER)
    assert email.subject == "Solicitud de pago de Corner Shop: 25,00\xa0US$"
    assert "Hola, Alice:" in email.text and "Paga aquí" in email.text and "Hello" not in email.text
    assert 'lang="es"' in email.html and "Pagar 25,00\xa0US$" in email.html

    customer.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDC"})
    deposit(link.quotes.get().deposit_address, 25_000_000)  # Successful: the receipt goes out
    receipt = OutboundEmail.objects.get(kind=EmailKind.RECEIPT)
    assert receipt.subject == "Recibo: 25,00\xa0US$ a Corner Shop"
    assert "Gracias: tu pago a Corner Shop se ha completado." in receipt.text
    assert "25 USDC" in receipt.text and "/pay/" + link.code + "/receipt/" in receipt.text
    assert "Ver tu recibo" in receipt.html


def test_choosing_a_coin_records_the_language_the_page_was_read_in(link, email_on):
    customer = Client()
    customer.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDC"}, HTTP_ACCEPT_LANGUAGE="tr-TR")
    link.refresh_from_db()
    assert link.customer_language == "tr"
    deposit(link.quotes.get().deposit_address, 25_000_000)
    assert OutboundEmail.objects.get(kind=EmailKind.RECEIPT).subject == "Makbuz: Corner Shop, $25,00"


def test_a_new_link_to_a_known_customer_is_emailed_in_their_language(link, shop, member, email_on):  # noqa: F811
    from links.notifications.emails import link_email_to_member

    PaymentLink.objects.filter(pk=link.pk).update(customer_language="fr")
    second = make_link(shop, member, amount="10.00")
    link_email_to_member(link=second)
    assert OutboundEmail.objects.get(link=second).subject == "Demande de paiement de Corner Shop : 10,00\xa0$US"


def test_a_customer_who_never_chose_gets_english(link, email_on):
    from links.notifications.emails import link_email_to_member

    link_email_to_member(link=link)
    email = OutboundEmail.objects.get(kind=EmailKind.LINK_TO_MEMBER)
    assert email.subject == "Payment request from Corner Shop: $25.00" and "Hello Alice," in email.text


# The message files


def _po_entries(path: Path) -> list[dict]:
    entries, current, key = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            if current:
                entries.append(current)
            current, key = {}, None
        elif line.startswith("#,"):
            current["flags"] = line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            current[key] = ast.literal_eval(value)
    return [e for e in entries if e.get("msgid")]


@pytest.mark.parametrize("language", ["es", "pt_BR", "fr", "tr"])
def test_every_message_is_translated_and_the_compiled_file_is_current(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    entries = _po_entries(po)
    assert len(entries) > 100
    for e in entries:
        assert "fuzzy" not in e.get("flags", ""), e["msgid"]
        placeholders = set(re.findall(r"%\(\w+\)s|\{\w+\}", e["msgid"]))
        if "msgid_plural" in e:
            forms = [e["msgstr[0]"], e["msgstr[1]"]]
            assert all(forms) and [catalog.ngettext(e["msgid"], e["msgid_plural"], n) for n in (1, 5)] == forms
        else:
            forms = [e["msgstr"]]
            context = e.get("msgctxt")
            compiled = catalog.pgettext(context, e["msgid"]) if context else catalog.gettext(e["msgid"])
            assert e["msgstr"] and compiled == e["msgstr"], f"{e['msgid']!r}: run docs/checkout-languages.md's compile step"
        for form in forms:
            assert set(re.findall(r"%\(\w+\)s|\{\w+\}", form)) == placeholders, e["msgid"]
