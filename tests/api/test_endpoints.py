"""Every endpoint of /api/v1/: happy paths, the dashboard's messages in the error shape,
cross-project isolation, and the document describing each answer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from members.models import Member
from tests.api.conftest import documented
from tests.links.pay_support import deposit, make_link, make_quote

pytestmark = pytest.mark.django_db

LINKS = "/api/v1/links"
ONE = "/api/v1/links/{code}"
CANCEL = "/api/v1/links/{code}/cancel"
MEMBERS = "/api/v1/members"


def _create(api, **overrides):
    body = {"member_email": "alice@example.com", "amount": "25.50", "description": "Two coffees"}
    body.update(overrides)
    return api.post(LINKS, {k: v for k, v in body.items() if v is not ...})


# Members


def test_create_member(api, project):
    response = api.post(MEMBERS, {"email": " Bob@Example.com ", "name": " Bob "})
    assert response.status_code == 201
    body = documented(response, MEMBERS, "post")
    assert (body["email"], body["name"]) == ("bob@example.com", "Bob")
    assert Member.objects.get(email="bob@example.com").project == project


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({}, "email", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": "a@example.com", "name": "x" * 101}, "name", "Ensure this value has at most 100 characters (it has 101)."),
        ({"email": 12}, "email", "Enter text (a JSON string)."),
    ],
)
def test_create_member_bad_input(api, project, body, field, message):
    response = api.post(MEMBERS, body)
    assert response.status_code == 400
    assert message in documented(response, MEMBERS, "post")["errors"][field]
    assert not Member.objects.exists()


def test_create_member_twice_uses_the_dashboard_message(api, member):
    from members.services import DUPLICATE_MEMBER

    response = api.post(MEMBERS, {"email": "ALICE@example.com"})
    assert response.status_code == 400
    assert documented(response, MEMBERS, "post")["errors"] == {"email": [DUPLICATE_MEMBER]}


def test_the_same_email_may_be_a_member_of_another_project(other_api, member):
    assert other_api.post(MEMBERS, {"email": "alice@example.com"}).status_code == 201
    assert Member.objects.filter(email="alice@example.com").count() == 2


# Create a link


def test_create_link_for_a_new_member(api, project):
    expires = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = _create(
        api, member_email="New@Example.com", member_name="Newcomer", expires_at=expires.isoformat(), currency="EUR"
    )
    assert response.status_code == 201
    body = documented(response, LINKS, "post")
    link = PaymentLink.objects.get()
    assert body["code"] == link.code
    assert body["url"].endswith(f"/pay/{link.code}/")
    assert (body["amount"], body["currency"], body["description"]) == ("25.50", "EUR", "Two coffees")
    assert (body["status"], body["detail"], body["quotes"], body["deposits"], body["received"]) == (
        "pending",
        "awaiting_payment",
        [],
        [],
        None,
    )
    assert body["member"]["email"] == "new@example.com" and body["member"]["name"] == "Newcomer"
    assert link.expires_at == expires and link.member.project == project and link.amount == Decimal("25.50")


def test_expiry_with_any_offset_is_the_same_instant(api, project):
    # PostgreSQL stores offsets up to ±15:59 only: the form hands on UTC.
    response = _create(api, expires_at="4209-10-17T10:40:39-19:48")
    assert response.status_code == 201
    assert response.json()["expires_at"] == "4209-10-18T06:28:39Z"


def test_create_link_for_an_existing_member_keeps_them(api, member):
    response = _create(api, member_email="ALICE@example.com", member_name="Someone else")
    assert response.status_code == 201
    assert PaymentLink.objects.get().member == member
    assert Member.objects.count() == 1 and Member.objects.get().name == "Alice"


@pytest.mark.parametrize("amount, stored", [(25, "25.00"), (Decimal("19.99"), "19.99"), (" 7.5 ", "7.50")])
def test_amount_as_number_or_string(api, project, amount, stored):
    raw = '{"member_email": "a@example.com", "amount": %s}' % (amount if not isinstance(amount, str) else f'"{amount}"')
    response = api.post(LINKS, raw=raw)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == stored


def test_a_json_number_is_read_exactly_never_through_float(api, project):
    # 0.1 + 0.2 in floats is 0.30000000000000004: parsed as Decimal it is "2 decimal places" exact.
    response = api.post(LINKS, raw='{"member_email": "a@example.com", "amount": 0.30}')
    assert response.status_code == 201
    assert PaymentLink.objects.get().amount == Decimal("0.30")
    too_fine = api.post(LINKS, raw='{"member_email": "a@example.com", "amount": 0.301}')
    assert too_fine.json()["errors"]["amount"] == ["Use at most 2 decimal places."]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("amount", ..., "This field is required."),
        ("amount", "0", "Enter an amount greater than zero."),
        ("amount", -5, "Enter an amount greater than zero."),
        ("amount", "1.234", "Use at most 2 decimal places."),
        ("amount", "1000000000.01", "The amount can be at most 1,000,000,000."),
        ("amount", "abc", "Enter an amount such as 25 or 19.99."),
        ("amount", "NaN", "Enter an amount such as 25 or 19.99."),
        ("amount", "1e9", "Enter an amount such as 25 or 19.99."),
        ("amount", True, "Enter a number or a decimal string."),
        ("amount", [1], "Enter a number or a decimal string."),
        ("description", "x" * 501, "Ensure this value has at most 500 characters (it has 501)."),
        ("description", 5, "Enter text (a JSON string)."),
        ("member_email", ..., "This field is required."),
        ("member_email", "nobody", "Enter a valid email address."),
        ("member_email", "a\x00b@example.com", "Null characters are not allowed."),
        ("expires_at", "2020-01-01T10:00:00Z", "The expiry must be in the future."),
        ("expires_at", "tomorrow", "Enter a valid date/time."),
        ("expires_at", "9999-12-31T23:00:00-05:00", "Enter a valid date/time."),
        ("currency", "BTC", "Select a valid choice. BTC is not one of the available choices."),
    ],
)
def test_create_link_bad_input_names_the_field_with_the_dashboard_message(api, project, field, value, message):
    response = _create(api, **{field: value})
    assert response.status_code == 400
    errors = documented(response, LINKS, "post")["errors"]
    assert message in errors[field]
    assert not PaymentLink.objects.exists() and not Member.objects.exists()


@pytest.mark.parametrize("number", ["1e9", "1E3", "2.5e1"])
def test_a_json_number_with_an_exponent_is_refused_like_the_form_does(api, project, number):
    response = api.post(LINKS, raw=f'{{"member_email": "a@example.com", "amount": {number}}}')
    assert response.status_code == 400
    assert documented(response, LINKS, "post")["errors"]["amount"] == ["Enter an amount such as 25 or 19.99."]
    assert not PaymentLink.objects.exists()


def test_the_dashboard_says_the_same(merchant_client, project, member):
    """The API's messages above are the dashboard form's own: one place, two callers."""
    response = merchant_client.post(
        "/payments/new/", {"project": project.pk, "member": member.email, "currency": "USD", "amount": "1.234"}
    )
    assert response.context["form"].errors["amount"] == ["Use at most 2 decimal places."]


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{", "The body is not valid JSON."),
        ('{"amount": NaN}', "The body is not valid JSON."),
        ('{"amount": Infinity}', "The body is not valid JSON."),
        ("[1, 2]", 'Send a JSON object, such as {"amount": "19.99"}.'),
        ('"text"', 'Send a JSON object, such as {"amount": "19.99"}.'),
        (b"\xff\xfe", "The body is not valid JSON."),
        ("[" * 100000, "The body nests deeper than 32 levels."),  # json's C scanner could overflow the stack
        ('{"a": ' * 33 + "1" + "}" * 33, "The body nests deeper than 32 levels."),
        ('{"amount": 1' + "0" * 5000 + "}", "The body is not valid JSON."),
    ],
)
def test_malformed_json_is_400(api, project, raw, message):
    response = api.post(LINKS, raw=raw)
    assert response.status_code == 400
    assert documented(response, LINKS, "post")["errors"] == {"non_field_errors": [message]}


def test_brackets_inside_strings_are_not_nesting(api, project):
    response = _create(api, description="[[[[" * 40 + "{{{{" * 40)
    assert response.status_code == 201


def test_a_body_past_the_upload_limit_is_413(api, project, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _create(api, description="x" * 2000)
    assert response.status_code == 413
    assert documented(response, LINKS, "post")["errors"] == {
        "non_field_errors": ["Request too large: payram takes bodies of at most 1000 bytes."]
    }


# Read one link


def test_get_link_with_quotes_and_deposits(api, project, member, evm_address):
    link = make_link(project, member)
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, amount_due=25_000_000)
    dep = deposit(address, 10_000_000, confirmations=0)

    response = api.get(ONE.format(code=link.code))
    assert response.status_code == 200
    body = documented(response, ONE, "get")
    assert (body["status"], body["detail"], body["detail_label"]) == ("pending", "underpaid", "Underpaid")
    [quote] = body["quotes"]
    assert quote["address"] == address.address and quote["amount_due_base_units"] == "25000000"
    assert quote["amount_due"] == "25"  # devnet USDC has 6 decimals
    [seen] = body["deposits"]
    assert (seen["tx_hash"], seen["value_base_units"], seen["value"], seen["counted"]) == (dep.tx_hash, "10000000", "10", True)
    assert body["received"] == {
        "network": "devnet",
        "asset": "USDC",
        "amount_base_units": "10000000",
        "amount": "10",
        "short_by_base_units": None,
        "short_by": None,
    }


def test_another_projects_link_is_404_like_an_unknown_one(api, other_api, project, member):
    link = make_link(project, member)
    theirs = other_api.get(ONE.format(code=link.code))
    unknown = other_api.get(ONE.format(code="no-such-code"))
    assert theirs.status_code == unknown.status_code == 404
    assert documented(theirs, ONE, "get") == documented(unknown, ONE, "get")
    assert other_api.post(CANCEL.format(code=link.code)).status_code == 404
    assert other_api.get(LINKS).json()["data"] == []
    link.refresh_from_db()
    assert link.cancelled_at is None
    assert api.get(ONE.format(code=link.code)).status_code == 200


def test_a_nul_byte_in_the_path_is_a_json_400(api, project):
    for response in (api.get(ONE.format(code="%00")), api.get(LINKS, {"member_email": "a\x00b"})):
        assert response.status_code == 400
        assert "NUL" in response.json()["errors"]["non_field_errors"][0]


@pytest.mark.parametrize("code", ["a" * 40, "white space", "é"])
def test_odd_codes_are_404(api, project, code):
    response = api.get(f"/api/v1/links/{code}")
    assert response.status_code == 404


# List


def test_list_pages_through_every_link_newest_first(api, project, member):
    links = [make_link(project, member, amount=f"{i}.00") for i in range(1, 6)]
    seen, cursor = [], None
    while True:
        response = api.get(LINKS, {"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = documented(response, LINKS, "get")
        assert len(body["data"]) <= 2
        seen += [row["code"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [link.code for link in reversed(links)]


def test_a_cursor_is_opaque_and_tamper_evident(api, other_api, project, other_project, member):
    """A cursor is payram's own token: a forged, altered or another project's cursor is a
    400 and never reaches the database."""
    import base64
    import json

    for i in range(3):
        make_link(project, member, amount=f"{i + 1}.00")
    cursor = api.get(LINKS, {"limit": 1}).json()["next_cursor"]
    assert api.get(LINKS, {"limit": 1, "cursor": cursor}).status_code == 200
    altered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    payload = base64.urlsafe_b64encode(json.dumps(["2030-01-01T00:00:00+00:00", 10**6]).encode()).decode().rstrip("=")
    forged = payload + cursor[len(cursor.split(".")[0]) :] if "." in cursor else payload
    for bad in (altered, forged, cursor + "x", cursor.upper()):
        response = api.get(LINKS, {"cursor": bad})
        assert response.status_code == 400, bad
        assert "cursor" in documented(response, LINKS, "get")["errors"]
    # A cursor names one project's list: another project's key cannot use it.
    assert other_api.get(LINKS, {"cursor": cursor}).status_code == 400


def test_list_filters_by_status_and_member(api, project, member):
    from links import services

    bob = Member.objects.create(project=project, email="bob@example.com")
    first = make_link(project, member)
    second = make_link(project, bob)
    services.link_cancel(link=first)
    cancelled = api.get(LINKS, {"status": "cancelled"}).json()["data"]
    assert [row["code"] for row in cancelled] == [first.code]
    assert [row["code"] for row in api.get(LINKS, {"member_email": "BOB@example.com"}).json()["data"]] == [second.code]
    assert len(api.get(LINKS).json()["data"]) == 2


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "paid"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJ4IiwgMV0"}, "cursor"),  # ["x", 1]
        # ["2030-01-01T00:00:00+16:00", 5]: an offset PostgreSQL refuses; once a 500.
        ({"cursor": "WyIyMDMwLTAxLTAxVDAwOjAwOjAwKzE2OjAwIiwgNV0"}, "cursor"),
    ],
)
def test_list_bad_parameters_are_400(api, project, params, field):
    response = api.get(LINKS, params)
    assert response.status_code == 400
    assert field in documented(response, LINKS, "get")["errors"]


# Cancel


def test_cancel_a_link(api, project, member):
    link = make_link(project, member)
    response = api.post(CANCEL.format(code=link.code))
    assert response.status_code == 200
    body = documented(response, CANCEL, "post")
    assert (body["status"], body["detail"]) == ("cancelled", "cancelled") and body["cancelled_at"]
    again = api.post(CANCEL.format(code=link.code))
    assert again.status_code == 200 and again.json()["cancelled_at"] == body["cancelled_at"]


def test_a_paid_link_cannot_be_cancelled(api, project, member, evm_address):
    link = make_link(project, member)
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, amount_due=25_000_000)
    deposit(address, 25_000_000, confirmations=50)
    link.refresh_from_db()
    assert link.status == LinkStatus.SUCCESSFUL
    response = api.post(CANCEL.format(code=link.code))
    assert response.status_code == 409
    assert documented(response, CANCEL, "post")["errors"] == {
        "status": ["This link has already been paid, so it cannot be cancelled."]
    }


# Methods, auth, CSRF


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("GET", MEMBERS, "POST"),
        ("PUT", LINKS, "GET, POST"),
        ("DELETE", "/api/v1/links/abc", "GET"),
        ("GET", "/api/v1/links/abc/cancel", "POST"),
        ("POST", "/api/v1/openapi.json", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(api, method, path, allow):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert "non_field_errors" in response.json()["errors"]


@pytest.mark.parametrize("method, path", [("post", MEMBERS), ("post", LINKS), ("get", LINKS), ("get", ONE), ("post", CANCEL)])
def test_every_endpoint_needs_a_key(anonymous, project, member, method, path):
    link = make_link(project, member)
    url = path.format(code=link.code)
    response = anonymous.post(url, {"email": "x@example.com"}) if method == "post" else anonymous.get(url)
    assert response.status_code == 401
    documented(response, path, method)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_is_not_a_key(merchant_client, project):
    """Session cookies authenticate nothing here (so no CSRF hole)."""
    assert merchant_client.get(LINKS).status_code == 401
    assert merchant_client.post(LINKS, {}, content_type="application/json").status_code == 401


def test_openapi_is_served_without_a_key(anonymous):
    response = anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
