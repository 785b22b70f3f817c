"""Property-based: whatever is typed into any dashboard form or sent to the public pay
endpoints, the answer is never a 500, and a refused request writes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.security.conftest import a_state, row_counts

pytestmark = pytest.mark.django_db

BOUNDED = hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "0",
    "-1",
    "-0",
    "1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "0.001",
    "1000000000.01",
    "99999999999999999999999999",
    "１２",
    "٣",
    "1,000",
    "1_000",
    "0x10",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "javascript:alert(1)",
    "https://",
    "http://[::1",
    "https://exa mple.com",
    "x" * 600,
    "é" * 300,
    "\u202e",
    "😀",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2026-02-30T10:00",
    "{{ 7*7 }}",
    "%(x)s",
    "../../etc/passwd",
    "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu",
    "devnet:USDC",
    "devnet:",
    ":USDC",
    "bitcoin:BTC",
    "nonet:XYZ",
    "devnet:ETH:extra",
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=80), st.integers(min_value=-(2**70), max_value=2**70).map(str))


def fields(*names: str, extra: dict | None = None):
    """A form submission: each field present or missing, with a nasty or random value."""
    return st.fixed_dictionaries({}, optional={n: values for n in names}).map(lambda d: {**(extra or {}), **d})


def _owner(world) -> Client:
    c = Client()
    c.force_login(world.merchant_a)
    return c


def _submit(client: Client, url: str, data: dict, world=None) -> None:
    before = row_counts()
    state = a_state(world) if world else None
    response = client.post(url, data)
    assert response.status_code < 500, (url, data, response.status_code)
    if response.status_code != 302:  # refused: nothing written, nothing changed
        assert row_counts() == before, (url, data)
        if world:
            assert a_state(world) == state, (url, data)


@BOUNDED
@given(data=fields("project", "member", "currency", "amount", "description", "expires_at"))
def test_create_link_form(world, data):
    _submit(_owner(world), "/payments/new/", data)


@BOUNDED
@given(data=fields("project", "email", "name"))
def test_add_member_form(world, data):
    _submit(_owner(world), "/members/new/", data)


@BOUNDED
@given(data=fields("email", "name"))
def test_edit_member_form(world, data):
    _submit(_owner(world), f"/members/{world.member_a.pk}/", data, world)


@BOUNDED
@given(data=fields("name", "return_url"))
def test_project_forms(world, data):
    owner = _owner(world)
    _submit(owner, "/members/projects/", data)
    _submit(owner, f"/members/projects/{world.project_a.pk}/", data, world)


@BOUNDED
@given(data=fields("xpub", "script_type"), family=st.sampled_from(["bitcoin", "evm", "bitcoin-testnet", "nope", "litecoin"]))
def test_wallet_key_form(world, data, family):
    from chain import catalogue

    url = f"/chain/wallets/{world.project_a.pk}/key/{family}/"
    response = _owner(world).post(url, data)
    assert response.status_code < 500
    if family not in catalogue.FAMILIES:
        assert response.status_code == 404


@BOUNDED
@given(
    data=st.dictionaries(
        st.sampled_from(["devnet", "bitcoin", "base", "ethereum", "nonet", "csrfmiddlewaretoken"]), values, max_size=5
    )
)
def test_confirmation_thresholds_form(world, data):
    _submit(_owner(world), f"/chain/wallets/{world.project_a.pk}/confirmations/", data, world)


@BOUNDED
@given(
    query=fields(
        "project", "status", "q", "page", "from", "to", "date_from", "date_to", "member", "network", "asset", "currency", "sort"
    )
)
def test_dashboard_lists_and_search_never_fail(world, query):
    owner = _owner(world)
    for url in (
        "/payments/",
        "/payments/export.csv",
        "/members/",
        "/members/search/",
        "/chain/wallets/",
        "/members/new/",
        "/payments/new/",
    ):
        response = owner.get(url, query)
        assert response.status_code < 500, (url, query)
        if response.streaming:
            b"".join(response.streaming_content)


@pytest.fixture
def no_rate_limits(settings):
    settings.PAYRAM_RATE_LIMITS = {
        name: (0, 60) for name in ("pay_quote_ip", "pay_quote_link", "pay_page_ip", "pay_page_link", "pay_poll_ip")
    }


@BOUNDED
@given(data=fields("choice"), htmx=st.booleans())
def test_pay_quote(world, no_rate_limits, data, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = row_counts()
    response = Client().post(f"/pay/{world.link_a.code}/quote/", data, **headers)
    assert response.status_code < 500 or response.status_code == 503, (data, response.status_code)  # 503: no price, said so
    if response.status_code != 302:
        assert row_counts() == before


@BOUNDED
@given(query=fields("v", "change", "sent"), htmx=st.booleans(), code=st.one_of(st.just("A"), st.text(max_size=40)))
def test_pay_page_and_status(world, no_rate_limits, query, htmx, code):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    code = world.link_a.code if code == "A" else code
    client = Client()
    before = row_counts()
    for url in (f"/pay/{code}/", f"/pay/{code}/status/"):
        try:
            response = client.get(url, query, **headers)
        except Exception as exc:  # a code that cannot be part of a URL path is the client's problem, not a 500
            from django.urls import Resolver404

            assert isinstance(exc, Resolver404), exc
            continue
        assert response.status_code in (200, 204, 301, 400, 404), (url, query, response.status_code)
    # Reading never writes rows (a status refresh may update the link itself, never add rows).
    assert row_counts() == before


@BOUNDED
@given(data=fields("choice"))
def test_pay_simulate_refuses_off_devnet_without_writing(world, no_rate_limits, data):
    before = row_counts()
    response = Client().post(f"/pay/{world.link_b.code}/simulate/", data)
    assert response.status_code in (400, 404)
    assert row_counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "/members/{big}/",
        "/members/projects/{big}/",
        "/chain/wallets/{big}/confirmations/",
        "/chain/wallets/{big}/key/evm/",
        "/members/projects/{big}/api-keys/",
        "/chain/wallets/?project={big}",
    ],
)
def test_out_of_range_ids_are_404_not_500(world, url):
    owner = _owner(world)
    for big in ("99999999999999999999999", str(2**63), "0"):
        for method in ("get", "post"):
            response = getattr(owner, method)(url.format(big=big))
            assert response.status_code in (404, 405), (method, url, big, response.status_code)


def test_nul_bytes_anywhere_are_refused_without_a_500(world, no_rate_limits):
    """PostgreSQL cannot store or even compare a NUL byte: every place text reaches a query."""
    from django.urls import NoReverseMatch

    from tests.security.urlwalk import routes

    owner = Client(raise_request_exception=False)
    owner.force_login(world.merchant_a)
    failures = []
    for route in routes():
        if route.kind not in ("dashboard", "public") or not route.params:
            continue
        try:
            url = route.url(world)
        except (NoReverseMatch, LookupError):
            continue
        for param in route.params:
            value = str(__import__("tests.security.urlwalk", fromlist=["fill"]).fill(route.name, param, world))
            bad = url.replace(value, value + "%00", 1)
            for method in ("get", "post"):
                status = getattr(owner, method)(bad).status_code
                if status >= 500:
                    failures.append(f"{method.upper()} {bad} ({route.name}) -> {status}")
    for url in (
        "/payments/",
        "/payments/export.csv",
        "/members/",
        "/members/search/",
        "/chain/wallets/",
        f"/pay/{world.link_a.code}/",
    ):
        for name in ("q", "member", "project", "status", "page", "v", "sent", "change", "email"):
            response = owner.get(url, {name: "a\x00b", "project": world.project_a.pk} if name != "project" else {name: "\x00"})
            if response.streaming:
                try:
                    b"".join(response.streaming_content)
                except Exception as exc:  # noqa: BLE001 - the download breaks off midway
                    failures.append(f"GET {url}?{name}=NUL broke the download: {type(exc).__name__}")
            if response.status_code >= 500:
                failures.append(f"GET {url}?{name}=NUL -> {response.status_code}")
    assert not failures, failures


# The REST API: its query parameters and headers.


def _b64(value) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


_offsets = st.builds(
    lambda sign, hh, mm: f"{sign}{hh:02d}:{mm:02d}",
    st.sampled_from("+-"),
    st.integers(0, 30),
    st.sampled_from([0, 30, 59, 60, 99]),
)
_timestamps = st.builds(lambda year, offset: f"{year:04d}-01-01T00:00:00{offset}", st.integers(1, 9999), _offsets)
# What a client could make of a cursor: the old token's shape (base64 of [time, id]) with
# any offset, year or id, plus anything at all.
_cursors = st.one_of(
    values,
    st.builds(
        lambda when, pk: _b64([when, pk]), _timestamps, st.one_of(st.integers(1, 2**70), st.integers(-(2**70), 2**70), values)
    ),
    st.builds(
        lambda when, pk, sig: f"{_b64([when, pk])}.{sig}",
        _timestamps,
        st.integers(1, 2**40),
        st.text("abcdefXYZ0189-_", max_size=43),
    ),
)
_header_values = st.one_of(values, st.text(alphabet=st.characters(max_codepoint=255), max_size=200))


@pytest.fixture
def api_key_a(world):
    from members.services import api_key_create

    return api_key_create(project=world.project_a, name="properties")[1]


@BOUNDED
@example(query={"cursor": "WyIyMDMwLTAxLTAxVDAwOjAwOjAwKzE2OjAwIiwgNV0"}, headers={}, authorization="valid")  # a 500 once
@given(
    query=st.fixed_dictionaries({}, optional={"status": values, "member_email": values, "limit": values, "cursor": _cursors}),
    headers=st.fixed_dictionaries(
        {},
        optional={
            "HTTP_ACCEPT": _header_values,
            "HTTP_X_FORWARDED_FOR": _header_values,
            "HTTP_CONTENT_TYPE": _header_values,
            "HTTP_ACCEPT_ENCODING": _header_values,
            "HTTP_IF_NONE_MATCH": _header_values,
        },
    ),
    authorization=st.one_of(st.just("valid"), st.builds(lambda v: f"Bearer {v}", _header_values), _header_values),
)
def test_api_list_query_and_headers_never_fail(world, api_key_a, query, headers, authorization):
    before = row_counts()
    auth = f"Bearer {api_key_a}" if authorization == "valid" else authorization
    response = Client(raise_request_exception=False).get("/api/v1/links", query, HTTP_AUTHORIZATION=auth, **headers)
    assert response.status_code in (200, 400, 401), (query, headers, auth, response.status_code)
    if authorization != "valid":
        assert response.status_code != 200, "only the project's own key lists links"
    assert response["Content-Type"].startswith("application/json")
    assert row_counts() == before


@BOUNDED
@given(
    code=st.one_of(st.just("A"), values),
    headers=st.fixed_dictionaries({}, optional={"HTTP_ACCEPT": _header_values, "HTTP_X_FORWARDED_FOR": _header_values}),
    authorization=st.one_of(st.just("valid"), _header_values),
    method=st.sampled_from(["get", "post", "put", "delete", "head", "options"]),
)
def test_api_link_endpoints_never_fail(world, api_key_a, code, headers, authorization, method):
    from urllib.parse import quote

    code = world.link_a.code if code == "A" else code
    auth = f"Bearer {api_key_a}" if authorization == "valid" else authorization
    client = Client(raise_request_exception=False)
    before = row_counts() if method != "post" else None
    for path in (f"/api/v1/links/{quote(code, safe='')}", f"/api/v1/links/{quote(code, safe='')}/cancel"):
        response = getattr(client, method)(path, HTTP_AUTHORIZATION=auth, **headers)
        assert response.status_code < 500, (path, method, headers, auth, response.status_code)
    if before is not None:
        assert row_counts() == before
