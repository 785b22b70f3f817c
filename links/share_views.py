"""Public, read-only answers for a link shared outside payram (docs/link-sharing.md):

* /pay/<code>/ fetched by a chat app's crawler: the card's tags and a summary, without
  the checkout (no quote, no address, no status refresh), under its own generous limit;
  everyone else gets the pay page (links.pay_views.pay_page), which carries the same tags;
* /pay/<code>/preview.png: the card's image;
* /pay/<code>/qr.png and qr.svg: the QR of the pay URL, for emails and other sites.

Each reads one link row and writes nothing. They count against `pay_preview_ip` only:
one crawler address fetches every merchant's links, and a refused fetch is a broken card.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from links import pay_views, sharing
from links.models import PaymentLink
from links.preview_image import preview_png
from links.qr import qr_png, qr_svg_document
from links.selectors import public_url
from payram.lib import ratelimit

log = logging.getLogger(__name__)

_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")  # links.models.new_public_code
QR_MAX_AGE = 86400  # a link's public URL never changes
PREVIEW_MAX_AGE = 300  # the image shows the status: a paid link's card says so soon


def _link(code: str) -> PaymentLink | None:
    if not _CODE.fullmatch(code):
        return None
    return PaymentLink.objects.select_related("project").filter(code=code).first()


def _limited(request: HttpRequest, *, page: bool = False) -> HttpResponse | None:
    verdict = ratelimit.check(("pay_preview_ip", ratelimit.client_ip(request)))
    if verdict.allowed:
        return None
    log.info("rate limit %s refused a preview fetch", verdict.limit_name)
    if page:
        response = render(request, "links/pay_429.html", {"retry_after": verdict.retry_after}, status=429)
    else:
        response = HttpResponse("Too many requests", status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(verdict.retry_after)
    return response


def _cached(request: HttpRequest, body: bytes, content_type: str, max_age: int) -> HttpResponse:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["X-Robots-Tag"] = "noindex"
    return response


def pay_entry(request: HttpRequest, code: str) -> HttpResponse:
    """/pay/<code>/: the preview for a chat app's crawler, the pay page for everyone else."""
    if request.method in ("GET", "HEAD") and sharing.is_preview_crawler(request):
        return link_preview(request, code)
    return pay_views.pay_page(request, code)


@require_safe
def link_preview(request: HttpRequest, code: str) -> HttpResponse:
    """What a crawler gets: the pay page's head and summary from the stored row alone."""
    if limited := _limited(request, page=True):
        return limited
    link = _link(code)
    if link is None:
        return render(request, "links/pay_404.html", status=404)
    return render(request, "links/pay_preview.html", {"link": link, "project": link.project, "badge": sharing.badge(link)})


@require_safe
def link_preview_png(request: HttpRequest, code: str) -> HttpResponse:
    if limited := _limited(request):
        return limited
    link = _link(code)
    if link is None:
        return HttpResponse(status=404)
    return _cached(request, preview_png(**sharing.preview_content(link)), "image/png", PREVIEW_MAX_AGE)


@lru_cache(maxsize=1024)
def _qr_png(url: str) -> bytes:
    return qr_png(url)


@require_safe
def link_qr(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The QR of the public pay URL (never of a deposit address or a payment URI)."""
    if limited := _limited(request):
        return limited
    link = _link(code)
    if link is None:
        return HttpResponse(status=404)
    url = public_url(link)
    if fmt == "svg":
        return _cached(request, qr_svg_document(url).encode(), "image/svg+xml", QR_MAX_AGE)
    return _cached(request, _qr_png(url), "image/png", QR_MAX_AGE)
