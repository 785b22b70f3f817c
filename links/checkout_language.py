"""The customer's language on the public pages (/pay/...: the pay page, its fragments,
the receipt and the refund page). The dashboard stays English: outside /pay/ nothing here
runs and Django's LANGUAGE_CODE (English) applies.

The language is, first found: ?lang=<code> (the switcher's links; remembered in the
payram_lang cookie and on the link, for the customer's emails), the payram_lang cookie,
the browser's Accept-Language, English. See docs/checkout-languages.md."""

from __future__ import annotations

import re

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from links.models import PaymentLink

COOKIE = "payram_lang"
COOKIE_AGE = 365 * 24 * 3600
PUBLIC_PREFIX = "/pay/"
DEFAULT = "en"
_LINK_PATH = re.compile(r"^/pay/([A-Za-z0-9_-]{1,32})/(?:quote/)?$")


def checkout_languages() -> list[tuple[str, str]]:
    """(code, name in that language) for the switcher, in settings.CHECKOUT_LANGUAGES order."""
    return list(settings.CHECKOUT_LANGUAGES)


def switcher(request) -> dict:
    """Template context: the languages for the pay pages' switcher (links/_language_switcher.html)."""
    return {"checkout_languages": checkout_languages()}


def supported(code: str | None) -> str | None:
    """The supported checkout language for `code` ('pt-br', 'pt_BR', 'PT-br' -> 'pt-br';
    'es-MX' -> 'es'; 'pt' -> 'pt-br'), None when there is none."""
    if not code:
        return None
    code = code.strip().lower().replace("_", "-")
    codes = [c for c, _ in settings.CHECKOUT_LANGUAGES]
    if code in codes:
        return code
    base = code.split("-")[0]
    for candidate in codes:
        if candidate == base or candidate.split("-")[0] == base:
            return candidate
    return None


def from_accept_language(header: str) -> str | None:
    """The best supported language of an Accept-Language header (q-values honoured)."""
    for code, _q in translation.trans_real.parse_accept_lang_header(header or ""):
        if code == "*":
            continue
        found = supported(code)
        if found:
            return found
    return None


def choose(request) -> tuple[str, bool]:
    """(language, picked explicitly with ?lang=)."""
    picked = supported(request.GET.get("lang"))
    if picked:
        return picked, True
    return (
        supported(request.COOKIES.get(COOKIE)) or from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")) or DEFAULT,
        False,
    )


def customer_language(link: PaymentLink) -> str:
    """The language for the customer's emails: the one they read this link's pay page in,
    else the one they last read any of the member's links in, else English."""
    if supported(link.customer_language):
        return supported(link.customer_language)
    latest = (
        PaymentLink.objects.filter(member_id=link.member_id)
        .exclude(customer_language="")
        .order_by("-created_at", "-id")
        .values_list("customer_language", flat=True)
        .first()
    )
    return supported(latest) or DEFAULT


def _remember_on_link(path: str, language: str) -> None:
    match = _LINK_PATH.match(path)
    if match:
        PaymentLink.objects.filter(code=match.group(1)).exclude(customer_language=language).update(customer_language=language)


class CheckoutLanguageMiddleware:
    """Activates the customer's language for /pay/ requests only, and restores English after."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PUBLIC_PREFIX):
            return self.get_response(request)
        language, picked = choose(request)
        # The link's customer_language (the customer's emails) follows an explicit pick, or
        # the language they were reading in when they chose a coin; a mere view (a chat
        # app's preview crawler, say) changes nothing.
        if picked or request.method == "POST":
            _remember_on_link(request.path, language)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.activate(settings.LANGUAGE_CODE)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        if picked and request.COOKIES.get(COOKIE) != language:
            response.set_cookie(COOKIE, language, max_age=COOKIE_AGE, samesite="Lax", secure=request.is_secure(), path="/pay/")
        return response
