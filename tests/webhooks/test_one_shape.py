"""One link, three readers: the webhook payload, the API answer and the CSV row of the
same link say the same thing in every field they share (links.shape), and the webhook
payload and API answer validate against the schemas generated from that declaration."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import jsonschema_rs
import pytest

from links import services, shape
from links.api.schema import OPENAPI
from links.checkout import quote_create
from links.notifications.models import WebhookEvent
from members.services import api_key_create
from tests.api.conftest import documented
from tests.links.pay_support import deposit, set_confirmations

pytestmark = pytest.mark.django_db


def _webhook_validator():
    schema = {"$ref": "#/components/schemas/WebhookLink", "components": {"schemas": {**OPENAPI["components"]["schemas"]}}}
    schema["components"]["schemas"].update(shape.webhook_schemas())
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _spreadsheet(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if iso else ""


@pytest.fixture
def paid_link(shop, member):
    link = services.link_create(project=shop, member=member, amount=Decimal("25.00"), description="Order #1")
    quote = quote_create(link=link, network="devnet", asset="USDC")
    first = deposit(quote.deposit_address, 10_000_000, confirmations=0)
    second = deposit(quote.deposit_address, 15_000_000, confirmations=0)
    set_confirmations(first, 3)
    set_confirmations(second, 3)
    link.refresh_from_db()
    return link


def test_webhook_api_and_csv_agree_on_every_shared_field(paid_link, client, merchant_client):
    event = WebhookEvent.objects.filter(link=paid_link, type="payment.confirmed").get()
    hook = event.payload["link"]

    _, key = api_key_create(project=paid_link.project, name="Shop checkout")
    response = client.get(f"/api/v1/links/{paid_link.code}", HTTP_AUTHORIZATION=f"Bearer {key}")
    api = documented(response, "/api/v1/links/{code}", "GET")

    # The webhook's link is the API's link (every key, every value), plus its old keys.
    assert {k: hook[k] for k in api} == api
    assert set(hook) - set(api) == {f.name for f in shape.WEBHOOK_ALIASES} | {"transactions"}
    # ...which still say what they said: the same facts under the old names.
    assert hook["member_email"] == api["member"]["email"]
    assert hook["created"] == api["created_at"]
    assert (hook["network"], hook["asset"]) == (api["received"]["network"], api["received"]["asset"])
    assert (hook["amount_received"], hook["amount_received_base_units"]) == (
        api["received"]["amount"],
        api["received"]["amount_base_units"],
    )
    assert (hook["amount_due"], hook["amount_due_base_units"]) == (
        api["quotes"][0]["amount_due"],
        api["quotes"][0]["amount_due_base_units"],
    )
    assert [t["tx_hash"] for t in hook["transactions"]] == [d["tx_hash"] for d in reversed(api["deposits"])]
    assert [t["first_seen"] for t in hook["transactions"]] == [d["first_seen_at"] for d in reversed(api["deposits"])]
    errors = [str(e) for e in _webhook_validator().iter_errors(hook)]
    assert not errors, errors

    text = b"".join(merchant_client.get("/payments/export.csv").streaming_content).decode()
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert cells["Code"] == api["code"]
    assert cells["Public URL"] == api["url"]
    assert (cells["Member email"], cells["Member name"]) == (api["member"]["email"], api["member"]["name"])
    assert (cells["Amount asked"], cells["Currency"], cells["Description"]) == (
        api["amount"],
        api["currency"],
        api["description"],
    )
    assert (api["status"], cells["Status"]) == ("successful", "Successful")
    assert (cells["Amount received"], cells["Coin"]) == (api["received"]["amount"], api["received"]["asset"])
    assert cells["Created (UTC)"] == _spreadsheet(api["created_at"])
    assert cells["Paid at (UTC)"] == _spreadsheet(api["paid_at"]) != ""
    assert cells["Transactions"] == str(len(api["deposits"]))
    assert cells["Transaction hashes"].split("; ") == [d["tx_hash"] for d in reversed(api["deposits"])]


def test_an_answer_with_a_field_the_document_lacks_fails_the_check(paid_link, client):
    """The generated schemas list every property and allow no other, so an answer the
    views change without the shape (or the document) is caught by tests/api's checks."""
    _, key = api_key_create(project=paid_link.project, name="Shop checkout")
    api = client.get(f"/api/v1/links/{paid_link.code}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    schema = {"$ref": "#/components/schemas/Link", "components": OPENAPI["components"]}
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    assert validator.is_valid(api)
    assert not validator.is_valid({**api, "colour": "red"})
    assert not validator.is_valid({**api, "deposits": [{**api["deposits"][0], "fee": "1"}]})
    missing = dict(api)
    del missing["detail_label"]
    assert not validator.is_valid(missing)
