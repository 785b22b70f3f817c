"""The customer's refund page, /pay/<code>/refund/<refund code>/ (no login: both codes
are 128-bit random), and how a refund is shown to the merchant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from chain import catalogue
from chain.addresses import AddressRefused
from links import refunds
from links.models import Refund, RefundState
from links.pay_views import _not_found, _rate_limited
from links.qr import qr_svg
from links.uris import payment_uri
from payram.lib.money import format_units

_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class RefundView:
    refund: Refund
    amount: str  # "0.0005 ETH"
    network_name: str
    url: str  # the customer's page
    uri: str  # BIP21 / EIP-681 for the merchant's wallet, once the address is known
    qr: str
    tx_url: str

    @property
    def state_label(self) -> str:
        return self.refund.get_state_display()


def refund_view(refund: Refund) -> RefundView:
    try:
        net = catalogue.get(refund.network)
        coin = net.asset(refund.asset)
    except KeyError:
        return RefundView(
            refund, f"{refund.amount} base units {refund.asset}", refund.network, refunds.refund_url(refund), "", "", ""
        )
    try:
        uri = payment_uri(net, coin, refund.address, int(refund.amount)) if refund.address else ""
    except ValueError:  # a chain family without a payment URI scheme: address and amount still show
        uri = ""
    return RefundView(
        refund=refund,
        amount=f"{format_units(refund.amount, coin.decimals)} {coin.symbol}",
        network_name=net.name,
        url=refunds.refund_url(refund),
        uri=uri,
        qr=qr_svg(uri) if uri and refund.state == RefundState.ADDRESS_GIVEN else "",
        tx_url=net.tx_url(refund.sent_tx) if refund.sent_tx else "",
    )


@require_http_methods(["GET", "POST"])
def refund_page(request: HttpRequest, code: str, refund_code: str) -> HttpResponse:
    scope = "pay_quote" if request.method == "POST" else "pay_poll"
    if limited := _rate_limited(request, code, scope=scope):
        return limited
    if not (_CODE.fullmatch(code) and _CODE.fullmatch(refund_code)):
        return _not_found(request)
    refund = Refund.objects.select_related("link__project", "link__member").filter(code=refund_code, link__code=code).first()
    if refund is None:
        return _not_found(request)
    error = ""
    address = request.POST.get("address", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            refunds.refund_address_give(refund=refund, address=address)
        except AddressRefused as exc:
            error = str(exc)
        else:
            return redirect("pay:refund", code=code, refund_code=refund_code)
    context = {
        "refund": refund,
        "view": refund_view(refund),
        "link": refund.link,
        "project": refund.link.project,
        "error": error,
        "address": address,
    }
    return render(request, "links/refund_page.html", context, status=400 if error else 200)
