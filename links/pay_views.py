"""The public pay page: /pay/<code>/. No login. Views parse, call one service, render.

The dynamic part of the page (status, payment instructions, picker) is one fragment,
templates/links/_checkout.html. While the link is open it polls
/pay/<code>/status/?v=<key> every few seconds; the server answers 204 (htmx swaps
nothing, one query) while the facts the fragment is drawn from are unchanged, and the new
fragment when they changed. Every GET here only reads (show_link_state). Once the
link is final the fragment it returns has no hx-trigger, so polling stops.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from chain import catalogue, devnet
from chain.health import network_is_healthy
from chain.models import Deposit
from links import checkout
from links.models import LinkAddress, LinkSettlement, LinkStatus, PaymentLink, Quote
from links.qr import qr_svg
from links.receipts import receipt_for
from links.status import Detail, LinkState, link_deposits, show_link_state
from links.uris import payment_uri, uri_carries_amount
from members.branding import brand_for
from members.models import Project
from payram.lib import ratelimit

log = logging.getLogger(__name__)

POLL_SECONDS = 3
DEVNET_CHAIN_ID = 31337


_CODE = re.compile(
    r"[A-Za-z0-9_-]{1,32}"
)  # links.models.new_public_code; anything else (a NUL byte: PostgreSQL refuses it) is no link


def _find_link(code: str) -> PaymentLink | None:
    if not _CODE.fullmatch(code):
        return None
    return PaymentLink.objects.select_related("project", "member").filter(code=code).first()


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "links/pay_404.html", status=404)


def _rate_limited(request: HttpRequest, code: str, *, scope: str) -> HttpResponse | None:
    """Per client first, then per link: nobody exhausts a project's addresses or hammers
    the database through one link. None when the request may go on. Scopes: pay_quote
    (a coin picked), pay_page (a page or fragment rendered), pay_poll (every status poll;
    only a flood guard, see payram.lib.ratelimit.DEFAULT_LIMITS)."""
    verdict = ratelimit.check((f"{scope}_ip", ratelimit.client_ip(request)), (f"{scope}_link", code))
    if verdict.allowed:
        return None
    log.info("rate limit %s refused a request for a pay link", verdict.limit_name)
    context = {"retry_after": verdict.retry_after, "per_link": verdict.limit_name.endswith("_link")}
    template = "links/_pay_429.html" if request.htmx else "links/pay_429.html"
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


def _safe_return_url(url: str) -> str:
    parsed = urlparse(url or "")
    return url if parsed.scheme in ("http", "https") and parsed.netloc else ""


def is_simulation_network(network) -> bool:
    """The Simulate payment button exists only on the local devnet (chain id 31337)."""
    return network is not None and network.slug == "devnet" and network.chain_id == DEVNET_CHAIN_ID


# -- what decides whether the customer's fragment changed --------------------------------
# The poll's "nothing changed" answer must be cheap: one query, no status derived. Its key
# is a digest of the facts the fragment is drawn from (the link row, its quotes, its
# deposits, a settlement, the project's policy), of which deadlines have passed (the state
# changes with time only at a quote's or the link's expiry, or the end of the late window
# after one) and of the network's health. Same facts, same deadlines passed: same state.
# A change of facts the state does not show (a confirmation of an uncounted deposit) only
# costs one fragment drawn.

_FACTS = (
    "pk",
    "status",
    "status_detail",
    "amount_received",
    "cancelled_at",
    "expires_at",
    "link_expired",
    "link_late",
    "confirmation_overrides",
    "underpayment_tolerance",
    "quote",
    "network",
    "quotes",
    "quotes_due",
    "quotes_late",
    "deposits",
    "orphaned",
    "last_deposit",
    "confirmations",
    "settled",
)


def _late_window() -> timedelta:
    return timedelta(hours=getattr(settings, "PAYRAM_LATE_PAYMENT_HOURS", 24))


@functools.cache
def _facts_sql() -> str:
    """One statement, written once: building it with the ORM cost more than running it."""

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    def col(model, name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    link, quote, dep, addr, settled, project = (
        table(m) for m in (PaymentLink, Quote, Deposit, LinkAddress, LinkSettlement, Project)
    )
    q_link = f"q.{col(Quote, 'link')} = l.{col(PaymentLink, 'id')}"
    newest = f"FROM {quote} q WHERE {q_link} ORDER BY q.{col(Quote, 'created_at')} DESC, q.{col(Quote, 'id')} DESC LIMIT 1"
    deposits = (
        f"FROM {dep} d JOIN {addr} a ON d.{col(Deposit, 'address')} = a.{col(LinkAddress, 'address')} "
        f"WHERE a.{col(LinkAddress, 'link')} = l.{col(PaymentLink, 'id')}"
    )
    expires = f"l.{col(PaymentLink, 'expires_at')}"
    return (
        f"SELECT l.{col(PaymentLink, 'id')}, l.{col(PaymentLink, 'status')}, l.{col(PaymentLink, 'status_detail')}, "
        f"l.{col(PaymentLink, 'amount_received')}, l.{col(PaymentLink, 'cancelled_at')}, {expires}, "
        f"CASE WHEN {expires} <= %s THEN 1 ELSE 0 END, CASE WHEN {expires} <= %s THEN 1 ELSE 0 END, "
        f"p.{col(Project, 'confirmation_overrides')}, p.{col(Project, 'underpayment_tolerance')}, "
        f"(SELECT q.{col(Quote, 'id')} {newest}), (SELECT q.{col(Quote, 'network')} {newest}), "
        f"(SELECT COUNT(*) FROM {quote} q WHERE {q_link}), "
        f"(SELECT COUNT(*) FROM {quote} q WHERE {q_link} AND q.{col(Quote, 'expires_at')} <= %s), "
        f"(SELECT COUNT(*) FROM {quote} q WHERE {q_link} AND q.{col(Quote, 'expires_at')} <= %s), "
        f"(SELECT COUNT(*) {deposits}), "
        f"(SELECT COUNT(*) {deposits} AND d.{col(Deposit, 'orphaned')} = %s), "
        f"(SELECT MAX(d.{col(Deposit, 'id')}) {deposits}), "
        f"(SELECT SUM(d.{col(Deposit, 'confirmations')}) {deposits}), "
        f"(SELECT COUNT(*) FROM {settled} s WHERE s.{col(LinkSettlement, 'link')} = l.{col(PaymentLink, 'id')}) "
        f"FROM {link} l JOIN {project} p ON p.{col(Project, 'id')} = l.{col(PaymentLink, 'project')} "
        f"WHERE l.{col(PaymentLink, 'code')} = %s"
    )


def _facts(code: str, now) -> dict | None:
    """The link's facts, reduced to a few numbers, in one query (None: no such link).
    Deposits count orphaned ones too: the page lists them."""
    if not _CODE.fullmatch(code):
        return None
    adapt = connection.ops.adapt_datetimefield_value
    at, late = adapt(now), adapt(now - _late_window())
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql(), [at, late, at, late, True, code])
        row = cursor.fetchone()
    return None if row is None else dict(zip(_FACTS, row, strict=True))


# The poll's 204 path asks the network's health at most once a second per process (it is
# one more query, the same for every link); a page drawn asks afresh.
HEALTH_MEMO_SECONDS = 1.0
_health_memo: dict[str, tuple[float, bool]] = {}


def _network_healthy(slug: str, *, fresh: bool) -> bool:
    clock = time.monotonic()
    known = _health_memo.get(slug)
    if not fresh and known is not None and clock - known[0] < HEALTH_MEMO_SECONDS:
        return known[1]
    healthy = network_is_healthy(slug)
    _health_memo[slug] = (clock, healthy)
    return healthy


def _facts_key(facts: dict, *, change: bool, fresh: bool) -> str:
    network = facts["network"]
    stalled = bool(network) and not _network_healthy(network, fresh=fresh)
    source = "|".join(map(str, (*facts.values(), change, stalled)))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Snapshot:
    """What the customer sees, and the key that says whether it changed."""

    state: LinkState
    quote_expired: bool
    picking: bool
    key: str
    recorded: int = 0  # deposits recorded, orphaned ones included
    stalled: bool = False  # the quote's network is not being watched right now


def _snapshot(
    request: HttpRequest, link: PaymentLink, *, now, picking: bool | None = None, facts: dict | None = None
) -> _Snapshot:
    facts = facts or _facts(link.code, now)
    # Reads only: the scanner and housekeeping write. The facts say what is not there to read.
    state = show_link_state(link, now=now, has_deposits=facts["deposits"] > 0, settled=facts["settled"] > 0)
    quote = state.quote
    quote_expired = bool(quote and quote.expires_at <= now)
    if picking is None:
        picking = request.GET.get("change") == "1" and not state.amount_received
    # The poll URL carries change=1 exactly when picking: the key is made with the same flag.
    key = _facts_key(facts, change=picking, fresh=True)
    # A customer looking at an address on a network nobody can read right now is told so.
    stalled = quote is not None and not state.is_final and not _network_healthy(quote.network, fresh=False)
    return _Snapshot(state, quote_expired, picking, key, facts["deposits"], stalled)


def _checkout_context(
    request: HttpRequest, link: PaymentLink, *, error: str = "", picking: bool | None = None, snap: _Snapshot | None = None
) -> dict:
    snap = snap or _snapshot(request, link, now=timezone.now(), picking=picking)
    state, quote, quote_expired, picking = snap.state, snap.state.quote, snap.quote_expired, snap.picking
    network = asset = None
    if quote is not None:
        try:
            network = catalogue.get(quote.network)
            asset = network.asset(quote.asset)
        except KeyError:
            network = asset = None
    money_seen = bool(state.amount_received)
    open_link = state.status == LinkStatus.PENDING and state.detail != Detail.REFUND_DUE
    show_picker = open_link and (quote is None or asset is None or picking or bool(error)) and not money_seen
    # Payment instructions only while money is still wanted (not once it is all on its way).
    show_payment = (
        open_link
        and not show_picker
        and quote is not None
        and asset is not None
        and state.detail in (Detail.AWAITING_PAYMENT, Detail.UNDERPAID)
    )
    pay_amount = 0
    uri = qr = ""
    if show_payment and not quote_expired:
        pay_amount = checkout.payable_amount(quote, state.remaining) if money_seen else int(quote.amount_due)
        uri = payment_uri(network, asset, quote.deposit_address.address, pay_amount)
        qr = qr_svg(uri)
    choices = checkout.available_assets(link) if show_picker else []
    # Orphaned deposits too: a customer whose payment was seen, then dropped by a reorg,
    # must see that it was, not a page that forgot it.
    deposits = link_deposits(link, state=state) if snap.recorded else []
    sent = request.GET.get("sent", "")
    return {
        "link": link,
        "project": link.project,
        "state": state,
        "quote": quote,
        "network": network,
        "asset": asset,
        "quote_expired": quote_expired,
        "open_link": open_link,
        "show_picker": show_picker,
        "show_payment": show_payment,
        "choices": choices,
        "stable_choices": [c for c in choices if c.asset.stable_usd and c.available],
        "selected_key": f"{quote.network}:{quote.asset}" if quote else "",
        "pay_amount": pay_amount,
        "remaining": checkout.payable_amount(quote, state.remaining) if quote is not None else 0,
        "payment_uri": uri,
        "uri_carries_amount": network is None or uri_carries_amount(network),
        "qr_svg": qr,
        "deposits": deposits,
        "success_deposits": [d for d in deposits if d.counted],
        "dropped_deposits": [d for d in deposits if d.deposit.orphaned],
        "network_stalled": snap.stalled,
        "error": error,
        "sent_tx": sent if re.fullmatch(r"0x[0-9a-fA-F]{64}", sent) else "",
        "poll": not state.is_final,
        "poll_url": reverse("pay:status", args=[link.code]) + f"?v={snap.key}" + ("&change=1" if picking else ""),
        "poll_seconds": POLL_SECONDS,
        "return_url": _safe_return_url(link.project.return_url),
        "simulate": show_payment and not quote_expired and is_simulation_network(network),
    }


@require_GET
def pay_page(request: HttpRequest, code: str) -> HttpResponse:
    if limited := _rate_limited(request, code, scope="pay_page"):
        return limited
    link = _find_link(code)
    if link is None:
        return _not_found(request)
    return render(request, "links/pay.html", {**_checkout_context(request, link), "brand": brand_for(link.project)})


@require_GET
def pay_status(request: HttpRequest, code: str) -> HttpResponse:
    """The checkout fragment for htmx polling (and anyone who opens it). "Nothing changed"
    is cheap and counts only against the flood guard, so customers sharing one address
    poll as long as their pages are open; a rendered fragment counts as a page load."""
    if limited := _rate_limited(request, code, scope="pay_poll"):
        return limited
    now = timezone.now()
    facts = _facts(code, now)
    if facts is None:
        return _not_found(request)
    if request.htmx and request.GET.get("v") == _facts_key(facts, change=request.GET.get("change") == "1", fresh=False):
        return HttpResponse(status=204)  # nothing changed: one query, nothing derived, nothing drawn
    if limited := _rate_limited(request, code, scope="pay_page"):
        return limited
    link = _find_link(code)
    if link is None:
        return _not_found(request)
    snap = _snapshot(request, link, now=now, facts=facts)
    return render(request, "links/_checkout.html", _checkout_context(request, link, snap=snap))


@require_GET
def pay_receipt(request: HttpRequest, code: str) -> HttpResponse:
    """The printable receipt of a Successful link; any other link has none (404)."""
    if limited := _rate_limited(request, code, scope="pay_poll"):
        return limited
    link = _find_link(code)
    if link is None:
        return _not_found(request)
    show_link_state(link)
    found = receipt_for(link)
    if found is None:
        return _not_found(request)
    return render(request, "links/receipt.html", {"receipt": found, "brand": brand_for(link.project)})


@require_POST
def pay_quote(request: HttpRequest, code: str) -> HttpResponse:
    """The customer picked (or refreshed) a coin and network."""
    if limited := _rate_limited(request, code, scope="pay_quote"):
        return limited
    link = _find_link(code)
    if link is None:
        return _not_found(request)
    network_slug, _, symbol = request.POST.get("choice", "").partition(":")
    if not network_slug or not symbol:
        return _rerender(request, link, gettext("Please pick a coin and network."), 400)
    try:
        checkout.quote_create(link=link, network=network_slug, asset=symbol)
    except checkout.PriceUnavailable as exc:
        log.warning("no price for link %s: %s", link.pk, exc)
        return _rerender(
            request,
            link,
            gettext("We can't get an exchange rate for %(coin)s right now, so we won't guess an amount.") % {"coin": symbol},
            503,
        )
    except checkout.CheckoutError as exc:
        return _rerender(request, link, str(exc), 400)
    return redirect("pay:page", code=link.code)


def _rerender(request: HttpRequest, link: PaymentLink, error: str, status: int) -> HttpResponse:
    context = _checkout_context(request, link, error=error, picking=True)
    template = "links/_checkout.html" if request.htmx else "links/pay.html"
    if not request.htmx:
        context["brand"] = brand_for(link.project)
    return render(request, template, context, status=status)


@require_POST
def pay_simulate(request: HttpRequest, code: str) -> HttpResponse:
    """Demo only: pay the current quote from one of anvil's funded accounts. Exists only
    for quotes on the local devnet (chain id 31337); chain.devnet refuses any other chain."""
    if limited := _rate_limited(request, code, scope="pay_quote"):
        return limited
    link = _find_link(code)
    if link is None:
        return _not_found(request)
    context = _checkout_context(request, link)
    if not context["simulate"]:
        return _rerender(request, link, "Simulated payments exist only on the local devnet.", 400)

    quote, asset = context["quote"], context["asset"]
    try:
        w3 = devnet.connect(context["network"].rpc_url)
        to, amount = quote.deposit_address.address, context["pay_amount"]
        if asset.is_native:
            tx_hash = devnet.send_eth(w3, to, amount)
        else:
            tx_hash = devnet.send_token(w3, to, amount, address=asset.contract)
    except Exception as exc:  # noqa: BLE001 - the devnet node is down or refused: say so, never a 500
        log.warning("simulated payment for link %s failed: %s", link.pk, exc)
        return _rerender(request, link, f"The simulated payment failed: {exc}", 502)
    return redirect(reverse("pay:page", args=[link.code]) + f"?sent={tx_hash}")
