"""The measurement behind docs/api.md, "Why hand-written views": the same two endpoints
(GET /links/{code}, one full link with quotes and deposits; GET /links?limit=20, a page of
summaries) answered by payram's views, by django-ninja and by Django REST framework,
in one run, with the same key check and the same data, through Django's test client.

Not part of the suite (the name does not start with test_; neither library is a
dependency). To run it, put the libraries beside the venv without touching it:

    .venv/bin/python -m pip install --no-deps --target /tmp/api-libs django-ninja djangorestframework
    PYTHONPATH=/tmp/api-libs DATABASE_URL= DEBUG=true SECRET_KEY=x \\
      .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/api/compare_libraries.py

Each variant reuses links.shape for reading the link, so what differs is what a library
adds: routing, authentication, rendering and, for the "validated" variants, a response
model checked on every answer (pydantic for ninja, a Serializer for DRF), which is how
each library would replace links/api/schema.py."""

from __future__ import annotations

import statistics
import sys
import time
from decimal import Decimal

import pytest
from django.http import JsonResponse
from django.urls import include, path

ninja = pytest.importorskip("ninja")
rest_framework = pytest.importorskip("rest_framework")

from ninja import NinjaAPI, Schema  # noqa: E402
from ninja.security import HttpBearer  # noqa: E402
from rest_framework import authentication, exceptions, serializers  # noqa: E402
from rest_framework.renderers import JSONRenderer  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from links import shape  # noqa: E402
from links.api import views as ours  # noqa: E402
from links.models import PaymentLink  # noqa: E402
from links.status import show_link_state  # noqa: E402
from members.services import api_key_authenticate, api_key_create  # noqa: E402

pytestmark = pytest.mark.django_db

ROUNDS, REQUESTS = 5, 40


def _summaries(project, limit: int = 20) -> list[dict]:
    links = PaymentLink.objects.filter(project=project).select_related("member", "settlement").prefetch_related("refunds")
    return [shape.link_summary(k) for k in links.order_by("-created_at", "-id")[:limit]]


def _full(project, code: str) -> dict:
    link = PaymentLink.objects.select_related("project", "member").get(project=project, code=code)
    return shape.link_full(link, show_link_state(link))


# A page computed once: what is left is each library's own cost per request (routing,
# key check, rendering, validation), without payram's reads.
FIXED: dict = {}


@ours.api_view("GET")
def ours_fixed(request, project):
    return JsonResponse(FIXED)


# django-ninja


class _NinjaKey(HttpBearer):
    def authenticate(self, request, token):
        key = api_key_authenticate(token)
        return key.project if key else None


class MemberOut(Schema):
    email: str
    name: str
    created_at: str


class ReceivedOut(Schema):
    network: str
    asset: str
    amount_base_units: str
    amount: str | None
    short_by_base_units: str | None
    short_by: str | None


class LinkSummaryOut(Schema):
    code: str
    url: str
    status: str
    detail: str
    detail_label: str
    amount: str
    currency: str
    description: str
    member: MemberOut
    created_at: str
    expires_at: str | None
    cancelled_at: str | None
    paid_at: str | None
    received: ReceivedOut | None
    settlement: dict | None
    refunds: list[dict]


class QuoteOut(Schema):
    network: str
    asset: str
    address: str
    amount_due_base_units: str
    amount_due: str | None
    rate: str
    rate_source: str
    created_at: str
    expires_at: str


class DepositOut(Schema):
    network: str
    asset: str
    tx_hash: str
    index: int
    value_base_units: str
    value: str | None
    confirmations: int
    confirmations_required: int
    block_height: int | None
    orphaned: bool
    counted: bool
    first_seen_at: str
    sent_at: str
    coinbase: bool
    tx_url: str


class LinkOut(LinkSummaryOut):
    quotes: list[QuoteOut]
    deposits: list[DepositOut]


class PageOut(Schema):
    data: list[LinkSummaryOut]
    next_cursor: str | None


plain = NinjaAPI(urls_namespace="bench_ninja_plain", auth=_NinjaKey())
validated = NinjaAPI(urls_namespace="bench_ninja_validated", auth=_NinjaKey())


@plain.get("/links/{code}")
def ninja_link(request, code: str):
    return _full(request.auth, code)


@plain.get("/links")
def ninja_links(request, limit: int = 20):
    return {"data": _summaries(request.auth, limit), "next_cursor": None}


@plain.get("/fixed")
def ninja_fixed(request):
    return FIXED


@validated.get("/fixed", response=PageOut)
def ninja_fixed_validated(request):
    return FIXED


@validated.get("/links/{code}", response=LinkOut)
def ninja_link_validated(request, code: str):
    return _full(request.auth, code)


@validated.get("/links", response=PageOut)
def ninja_links_validated(request, limit: int = 20):
    return {"data": _summaries(request.auth, limit), "next_cursor": None}


# Django REST framework


class _DrfKey(authentication.BaseAuthentication):
    def authenticate(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        key = api_key_authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        return (None, key)


class _MemberSer(serializers.Serializer):
    email = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()


class _ReceivedSer(serializers.Serializer):
    network = serializers.CharField()
    asset = serializers.CharField()
    amount_base_units = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    short_by_base_units = serializers.CharField(allow_null=True)
    short_by = serializers.CharField(allow_null=True)


class _SummarySer(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.CharField()
    status = serializers.CharField()
    detail = serializers.CharField()
    detail_label = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    member = _MemberSer()
    created_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    cancelled_at = serializers.CharField(allow_null=True)
    paid_at = serializers.CharField(allow_null=True)
    received = _ReceivedSer(allow_null=True)
    settlement = serializers.DictField(allow_null=True)
    refunds = serializers.ListField(child=serializers.DictField())


class _DrfBase(APIView):
    authentication_classes = [_DrfKey]
    permission_classes: list = []
    renderer_classes = [JSONRenderer]


class DrfLink(_DrfBase):
    def get(self, request, code):
        return Response(_full(request.auth.project, code))


class DrfLinks(_DrfBase):
    def get(self, request):
        return Response({"data": _summaries(request.auth.project), "next_cursor": None})


class DrfFixed(_DrfBase):
    def get(self, request):
        return Response(FIXED)


class DrfFixedValidated(_DrfBase):
    def get(self, request):
        return Response({"data": _SummarySer(FIXED["data"], many=True).data, "next_cursor": None})


class DrfLinksValidated(_DrfBase):
    def get(self, request):
        data = _SummarySer(_summaries(request.auth.project), many=True).data
        return Response({"data": data, "next_cursor": None})


urlpatterns = [
    path("", include("payram.urls")),
    path("ninja/", plain.urls),
    path("ninja-validated/", validated.urls),
    path("drf/links/<str:code>", DrfLink.as_view()),
    path("drf/links", DrfLinks.as_view()),
    path("drf-validated/links", DrfLinksValidated.as_view()),
    path("ours/fixed", ours_fixed),
    path("drf/fixed", DrfFixed.as_view()),
    path("drf-validated/fixed", DrfFixedValidated.as_view()),
]


@pytest.fixture
def data(project, member, monkeypatch, settings):
    from tests.links.pay_support import deposit, make_shop

    settings.ROOT_URLCONF = __name__
    shop = next(make_shop(project, monkeypatch, settings))
    from links.checkout import quote_create

    link = None
    for i in range(25):
        link = PaymentLink.objects.create(project=shop, member=member, amount=Decimal("25.00"), description=f"Order {i}")
    quote = quote_create(link=link, network="devnet", asset="USDC")
    deposit(quote.deposit_address, 10_000_000)
    deposit(quote.deposit_address, 15_000_000)
    _, key = api_key_create(project=shop, name="bench")
    FIXED.update({"data": _summaries(shop), "next_cursor": None})
    return link, key


def _rps(client, url: str, key: str) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200, (url, response.status_code, response.content[:200])
    return REQUESTS / (time.perf_counter() - started)


def test_compare(data, client):
    link, key = data
    variants = {
        "GET /links/{code}": {
            "payram (hand-written)": f"/api/v1/links/{link.code}",
            "django-ninja": f"/ninja/links/{link.code}",
            "django-ninja + response model": f"/ninja-validated/links/{link.code}",
            "DRF APIView": f"/drf/links/{link.code}",
        },
        "GET /links?limit=20": {
            "payram (hand-written)": "/api/v1/links",
            "django-ninja": "/ninja/links",
            "django-ninja + response model": "/ninja-validated/links",
            "DRF APIView": "/drf/links",
            "DRF APIView + Serializer": "/drf-validated/links",
        },
        "a fixed page of 20 (library cost only)": {
            "payram (hand-written)": "/ours/fixed",
            "django-ninja": "/ninja/fixed",
            "django-ninja + response model": "/ninja-validated/fixed",
            "DRF APIView": "/drf/fixed",
            "DRF APIView + Serializer": "/drf-validated/fixed",
        },
    }
    # Same answers (so the figures compare like with like), then interleaved rounds.
    for urls in variants.values():
        answers = [client.get(u, HTTP_AUTHORIZATION=f"Bearer {key}").json() for u in urls.values()]
        answers = [a.get("data", a) for a in answers]  # the bench variants do not page (no next_cursor)
        assert all(a == answers[0] for a in answers), urls
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(ROUNDS):
        for endpoint, urls in variants.items():
            for name, url in urls.items():
                results.setdefault((endpoint, name), []).append(_rps(client, url, key))
    lines = []
    for endpoint, urls in variants.items():
        base = statistics.median(results[(endpoint, "payram (hand-written)")])
        for name in urls:
            runs = results[(endpoint, name)]
            rps = statistics.median(runs)
            lines.append(f"| {endpoint} | {name} | {rps:.0f} ({min(runs):.0f}–{max(runs):.0f}) | {rps / base:.2f} |")
    print(
        f"\n| endpoint | variant | requests/s, median (min–max) of {ROUNDS} rounds x {REQUESTS} | vs payram |",
        file=sys.stderr,
    )
    print("|---|---|---|---|", file=sys.stderr)
    print("\n".join(lines), file=sys.stderr)
