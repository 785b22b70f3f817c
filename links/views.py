"""Dashboard pages for payment links: create, the link's page, cancel, All Payments, CSV."""

from __future__ import annotations

import csv
import hashlib
import re
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from links import overview, refunds, resolution, selectors, services, shape
from links.forms import PaymentLinkForm
from links.models import LinkSettlement, LinkStatus, RefundState
from links.qr import qr_png, qr_svg
from links.refund_views import refund_view
from links.status import link_deposits, show_link_state
from members.permissions import can, team_projects
from payram.lib.mail import email_enabled
from payram.lib.money import parse_decimal
from payram.lib.pagination import CappedPaginator

PAGE_SIZE = 50


def _filters(request: HttpRequest):
    projects = list(team_projects(request.user, "view_payments"))
    filters = selectors.PaymentFilters.from_query(request.GET, project_ids={p.pk for p in projects})
    return projects, filters


@login_required
@require_GET
def all_payments(request: HttpRequest) -> HttpResponse:
    projects, filters = _filters(request)
    page = CappedPaginator(selectors.payments_for_user(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    # One reverse for the page, not one per row (a reverse costs more than the row's queries).
    detail_url = reverse("links:detail", args=["-code-"])
    rows = [
        {
            "link": link,
            "url": detail_url.replace("-code-", link.code),
            "detail": selectors.status_detail_words(link),
            "refund": selectors.refund_words(link),
            "received": selectors.amount_received(link),
            "network": selectors.network_name(link.received_network),
            "transactions": selectors.link_transactions(link),
        }
        for link in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "projects": projects,
        "filters": filters,
        "statuses": LinkStatus.choices,
        # Totals of the whole filtered view; unfiltered, the page counts no more than it pages
        # (CappedPaginator): the Overview has this day / week / month.
        "totals": overview.totals(selectors.filtered_links(request.user, filters)) if filters.active else None,
    }
    return render(request, "links/all_payments.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


# A formula starter at the start of a cell, or after any character a spreadsheet may be
# told to split on (comma, semicolon, tab, pipe, a line break) when it ignores quotes.
_FORMULA_START = re.compile(r"(^|[,;\t|\r\n])([ ]*)([=+\-@\t\r])")


def _csv_cell(value) -> str:
    """Everything as text, with a ' before each = + - @ that could start a cell: a
    spreadsheet in a semicolon locale splits 'Order 1;=1+1' and would run '=1+1'."""
    text = "" if value is None else str(value)
    return _FORMULA_START.sub(r"\1\2'\3", text)


@login_required
@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    _, filters = _filters(request)
    links = selectors.payments_for_user(request.user, filters)
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)  # quoted: a separator inside a field stays inside

    def rows():
        yield writer.writerow(shape.CSV_HEADER)  # the columns: links.shape.CSV_COLUMNS
        for link in links.iterator(chunk_size=500):  # the deposits prefetch runs per chunk
            yield writer.writerow([_csv_cell(v) for v in shape.csv_row(link)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="payram-payments-{stamp}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def link_create(request: HttpRequest) -> HttpResponse:
    projects = team_projects(request.user, "create_link")
    initial = {
        "project": request.GET.get("project") or (projects.first().pk if projects.exists() else None),
        "member": request.GET.get("member", ""),
        "currency": "USD",
    }
    form = PaymentLinkForm(request.POST or None, projects=projects, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        link = services.link_create(
            project=data["project"],
            member=data["member_obj"],
            amount=data["amount"],
            currency=data["currency"],
            description=data["description"],
            expires_at=data["expires_at"],
            created_by=request.user,
        )
        messages.success(request, "Payment link generated. Share it with your customer.")
        return redirect("links:detail", code=link.code)
    context = {"form": form, "has_projects": projects.exists()}
    return render(request, "links/create.html", context, status=400 if form.errors else 200)


POLL_SECONDS = 3


def _live_key(link, state, deposits, link_refunds) -> str:
    """What decides whether the merchant's link page changed, for its polling."""
    source = "|".join(
        map(
            str,
            (
                state.status,
                state.detail,
                state.amount_received,
                state.confirmations,
                state.quote.pk if state.quote else "",
                len(deposits),
                sum(d.deposit.orphaned for d in deposits),
                [(r.pk, r.state) for r in link_refunds],
            ),
        )
    )
    return hashlib.sha256(source.encode()).hexdigest()[:16]


@login_required
@require_GET
def link_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The merchant's page of one link. While the link can still change it polls itself
    (?v=<key>): 204 while nothing changed, else the page, of which htmx takes #link-live."""
    link = selectors.link_for_user(request.user, code)
    state = show_link_state(link)  # as of now (an expiry may have passed), never saved
    deposits = link_deposits(link, state=state)
    link_refunds = refunds.link_refunds(link)
    key = _live_key(link, state, deposits, link_refunds)
    if request.htmx and request.GET.get("v") == key:
        return HttpResponse(status=204)
    share = selectors.share_links(link)
    quote = selectors.quote_view(state.quote)
    context = {
        "link": link,
        "state": state,
        "quote": quote,
        "deposits": deposits,
        "uncounted": [d for d in deposits if not d.counted and not d.deposit.orphaned],
        "orphaned": [d for d in deposits if d.deposit.orphaned],
        # Amounts of the counted coin; in base units if its asset left the catalogue.
        "decimals": quote.decimals if quote and quote.decimals is not None else 0,
        "unit": ""
        if quote is None
        else quote.quote.asset
        if quote.decimals is not None
        else f"base units of {quote.quote.asset}",
        "share": share,
        "qr": qr_svg(share["url"]),
        "detail": selectors.status_detail_words(link),
        "received": selectors.amount_received(link),
        "network": selectors.network_name(link.received_network),
        "can_cancel": link.status in (LinkStatus.PENDING, LinkStatus.EXPIRED),
        "open_link": link.status == LinkStatus.PENDING,
        "poll": not state.is_final or any(r.state != RefundState.SENT for r in link_refunds),
        "poll_url": reverse("links:detail", args=[link.code]) + f"?v={key}",
        "poll_seconds": POLL_SECONDS,
        "project_has_wallet": link.project.wallets.active().exists(),
        "can_add_wallet": can(request.user, link.project_id, "wallets"),  # staff may not
        "can_email_member": link.status == LinkStatus.PENDING and email_enabled(),
        # the email log (links/notifications/ writes it), newest first
        "emails": list(link.emails.order_by("-created_at", "-id")[:50]),
        "receipt_url": reverse("pay:receipt", args=[link.code]) if link.status == LinkStatus.SUCCESSFUL else "",
        "can_email_refund": email_enabled(),
        "can_refund": not refunds.refund_reason(link, state) and resolution.may_resolve(request.user, link),
        "refunds": [refund_view(r) for r in link_refunds],
        "can_settle": not resolution.settle_reason(link, state) and resolution.may_resolve(request.user, link),
        "settlement": LinkSettlement.objects.filter(link=link).first(),
    }
    return render(request, "links/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def link_settle(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the "Mark as paid" form (a pop-up under htmx); POST settles with the note."""
    link = selectors.link_for_user(request.user, code)
    if not resolution.may_resolve(request.user, link):
        raise Http404
    error = ""
    note = request.POST.get("note", "") if request.method == "POST" else ""
    if request.method == "POST":
        try:
            resolution.link_settle(link=link, note=note, user=request.user)
        except resolution.ResolutionRefused as exc:
            error = str(exc)
        else:
            messages.success(request, "Marked as paid. The note and the state before are kept on this page.")
            if request.htmx:
                return HttpResponseClientRedirect(reverse("links:detail", args=[link.code]))
            return redirect("links:detail", code=link.code)
    else:
        error = resolution.settle_reason(link)
    context = {"link": link, "error": error, "note": note, "refused": bool(error) and request.method == "GET"}
    template = "links/_settle_form.html" if request.htmx else "links/settle.html"
    # htmx swaps only 2xx answers: a refused note goes back into the pop-up with 200.
    return render(request, template, context, status=400 if error and request.method == "POST" and not request.htmx else 200)


@login_required
@require_http_methods(["GET", "POST"])
def link_refund(request: HttpRequest, code: str) -> HttpResponse:
    """GET: what to refund (a pop-up under htmx); POST asks for the refund."""
    link = selectors.link_for_user(request.user, code)
    if not resolution.may_resolve(request.user, link):
        raise Http404
    state = show_link_state(link)  # the POST's service rechecks with the row locked
    error = refunds.refund_reason(link, state)
    option = request.POST.get("option", "")
    fiat_text = request.POST.get("fiat_amount", "").strip()
    if request.method == "POST" and not error:
        fiat = None
        if option == "fiat":
            try:
                fiat = parse_decimal(fiat_text) if "e" not in fiat_text.lower() else None
            except ValueError:
                fiat = None
            if fiat is None or fiat != fiat.quantize(Decimal("0.01")):
                error = f"Enter the amount in {link.currency} to refund, such as 5 or 2.50."
        if not error:
            try:
                refunds.refund_create(link=link, option=option, fiat_amount=fiat, user=request.user)
            except resolution.ResolutionRefused as exc:
                error = str(exc)
            else:
                messages.success(
                    request, "Refund requested. Share the refund link with the customer so they can give their address."
                )
                if request.htmx:
                    return HttpResponseClientRedirect(reverse("links:detail", args=[link.code]))
                return redirect("links:detail", code=link.code)
    context = {
        "link": link,
        "error": error,
        "options": refunds.refund_options(link, state),
        "option": option,
        "fiat_amount": fiat_text,
        "refused": bool(error) and not refunds.refund_options(link, state),
    }
    template = "links/_refund_form.html" if request.htmx else "links/refund.html"
    return render(request, template, context, status=400 if error and request.method == "POST" and not request.htmx else 200)


@login_required
@require_GET
def link_qr_png(request: HttpRequest, code: str) -> HttpResponse:
    link = selectors.link_for_user(request.user, code)
    response = HttpResponse(qr_png(selectors.public_url(link)), content_type="image/png")
    if request.GET.get("download") != "0":
        response["Content-Disposition"] = f'attachment; filename="payram-{link.code}.png"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def link_cancel(request: HttpRequest, code: str) -> HttpResponse:
    """GET asks for confirmation; POST cancels."""
    link = selectors.link_for_user(request.user, code)
    if request.method == "POST":
        try:
            services.link_cancel(link=link)
        except services.LinkNotCancellable as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Payment link cancelled. The customer can no longer pay it.")
        return redirect("links:detail", code=link.code)
    if link.status == LinkStatus.SUCCESSFUL:
        messages.error(request, "This link has already been paid, so it cannot be cancelled.")
        return redirect("links:detail", code=link.code)
    template = "links/_cancel_confirm.html" if request.htmx else "links/cancel.html"
    return render(request, template, {"link": link})
