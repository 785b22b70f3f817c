"""A payment link as the outside world reads it: one declaration for the REST API
(links.api), the webhook payload (links.notifications.events), the OpenAPI document
(links.api.schema, generated from the shapes here) and the CSV export of All Payments.

A `Shape` is a list of `Field`s: name, JSON Schema, description and how to read the
value. `Shape.dump` gives the JSON object, `Shape.schema` its OpenAPI component (every
field required, no other property allowed), so the document cannot describe a field the
answers lack or miss one they carry. Money is never a float: fiat amounts are decimal
strings, on-chain amounts integer strings in base units beside whole coins.

CSV_COLUMNS takes the export's shared columns from the same fields (formatted for a
spreadsheet) and adds the ones only the CSV has. The webhook `link` is the API's full
link plus the deprecated keys webhooks had before (WEBHOOK_ALIASES, docs/webhooks.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from links import selectors
from links.models import LinkStatus, PaymentLink, RefundState
from links.refunds import refund_payload
from links.resolution import settlement_payload
from links.selectors import coin_amount, public_url
from links.status import DETAIL_LABELS, DepositView, Detail, LinkState, derive_status, link_deposits
from payram.lib.times import iso_utc

# JSON Schema pieces


def _string(description: str = "", **extra) -> dict:
    return {"type": "string", **extra, **({"description": description} if description else {})}


_BASE_UNITS = {"type": "string", "pattern": "^[0-9]+$"}
_NULLABLE_BASE_UNITS = {"type": ["string", "null"], "pattern": "^[0-9]+$"}
_COINS = {"type": ["string", "null"]}  # whole coins; null when the asset is no longer configured
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_STATUS = {"type": "string", "enum": list(LinkStatus.values)}
_DETAIL = {"type": "string", "enum": list(DETAIL_LABELS)}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable_ref(name: str) -> dict:
    return {"anyOf": [_ref(name), {"type": "null"}]}


def _array_of(name: str, description: str = "") -> dict:
    return {"type": "array", "items": _ref(name), **({"description": description} if description else {})}


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict
    get: Callable[[Any], Any] | None = None  # the source object -> the JSON value
    description: str = ""
    deprecated: str = ""  # what to read instead (webhook aliases)

    def json_schema(self) -> dict:
        schema = dict(self.schema)
        if self.description:
            schema["description"] = self.description
        if self.deprecated:
            schema["deprecated"] = True
            schema["description"] = f"Deprecated: {self.deprecated}"
        return schema


@dataclass(frozen=True)
class Shape:
    name: str  # the OpenAPI component's name
    fields: tuple[Field, ...]
    description: str = ""
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def dump(self, obj) -> dict:
        return {f.name: f.get(obj) for f in self.fields}

    def schema(self) -> dict:
        schema: dict = {"type": "object"}
        if self.description:
            schema["description"] = self.description
        schema["required"] = [f.name for f in self.fields]
        schema["properties"] = {f.name: f.json_schema() for f in self.fields}
        schema["additionalProperties"] = False
        return schema


# The shapes


MEMBER = Shape(
    "Member",
    (
        Field("email", _string(), lambda m: m.email),
        Field("name", _string(), lambda m: m.name),
        Field("created_at", _TIME, lambda m: iso_utc(m.created_at)),
    ),
)


def _received(link: PaymentLink) -> dict | None:
    if link.amount_received is None or not link.received_asset:
        return None
    return RECEIVED.dump(link)


def _short(link: PaymentLink, convert: Callable) -> str | None:
    return convert(link) if link.amount_short else None


RECEIVED = Shape(
    "Received",
    (
        Field("network", _string(), lambda k: k.received_network),
        Field("asset", _string(), lambda k: k.received_asset),
        Field("amount_base_units", _BASE_UNITS, lambda k: str(int(k.amount_received))),
        Field(
            "amount",
            _COINS,
            lambda k: coin_amount(k.amount_received, k.received_network, k.received_asset),
            "In whole coins; null if the asset is no longer configured",
        ),
        Field(
            "short_by_base_units",
            _NULLABLE_BASE_UNITS,
            lambda k: _short(k, lambda k: str(int(k.amount_short))),
            "Detail paid_short: how far short of the amount due the payment accepted as paid fell",
        ),
        Field(
            "short_by",
            {"type": ["string", "null"]},
            lambda k: _short(k, lambda k: coin_amount(k.amount_short, k.received_network, k.received_asset)),
            "short_by_base_units in whole coins",
        ),
    ),
)

SETTLEMENT = Shape(  # produced by links.resolution.settlement_payload
    "Settlement",
    (
        Field("settled_at", _TIME),
        Field("settled_by", _string("The merchant's user name, or “API key <name>”")),
        Field("note", _string()),
        Field("status_before", _STATUS),
        Field("detail_before", _DETAIL),
        Field("amount_received_before_base_units", _NULLABLE_BASE_UNITS),
    ),
    "The link was marked as paid by hand: the audit record",
)

REFUND = Shape(  # produced by links.refunds.refund_payload
    "Refund",
    (
        Field("code", _string()),
        Field("state", {"type": "string", "enum": list(RefundState.values)}),
        Field("reason", {"type": "string", "enum": [Detail.REFUND_DUE, Detail.OVERPAID, Detail.UNDERPAID]}),
        Field("network", _string()),
        Field("asset", _string()),
        Field("amount", _COINS),
        Field("amount_base_units", _BASE_UNITS),
        Field("url", _string("The customer's page to give the refund address")),
        Field("address", {"type": ["string", "null"]}),
        Field("sent_tx", {"type": ["string", "null"]}),
        Field("created_at", _TIME),
        Field("address_given_at", _NULLABLE_TIME),
        Field("sent_at", _NULLABLE_TIME),
    ),
    "A refund the merchant asked for: the customer gives an address at `url`; the merchant "
    "sends from their own wallet; `sent` once a transfer of at least `amount` in `asset` "
    "reached the address (in a block) after the refund was asked.",
)


def _detail_label(link: PaymentLink) -> str:
    return selectors.status_detail_words(link) or DETAIL_LABELS.get(link.status_detail, link.status_detail)


def _refunds(link: PaymentLink) -> list[dict]:
    return [refund_payload(r) for r in sorted(link.refunds.all(), key=lambda r: (r.created_at, r.pk))]


LINK_SUMMARY = Shape(
    "LinkSummary",
    (
        Field("code", _string(), lambda k: k.code),
        Field("url", _string("The public pay page: send it to the customer"), public_url),
        Field("status", _STATUS, lambda k: str(k.status)),
        Field("detail", _DETAIL, lambda k: k.status_detail),
        Field("detail_label", _string("The detail in words, as the dashboard shows it"), _detail_label),
        Field("amount", _string("The fiat amount asked", pattern=r"^[0-9]+\.[0-9]{2}$"), lambda k: f"{k.amount:.2f}"),
        Field("currency", _string(), lambda k: k.currency),
        Field("description", _string(), lambda k: k.description),
        Field("member", _ref("Member"), lambda k: MEMBER.dump(k.member)),
        Field("created_at", _TIME, lambda k: iso_utc(k.created_at)),
        Field("expires_at", _NULLABLE_TIME, lambda k: iso_utc(k.expires_at)),
        Field("cancelled_at", _NULLABLE_TIME, lambda k: iso_utc(k.cancelled_at)),
        Field("paid_at", _NULLABLE_TIME, lambda k: iso_utc(k.paid_at)),
        Field("received", _nullable_ref("Received"), _received),
        Field("settlement", _nullable_ref("Settlement"), settlement_payload),
        Field("refunds", _array_of("Refund", "Oldest first"), _refunds),
    ),
)

QUOTE = Shape(
    "Quote",
    (
        Field("network", _string(), lambda q: q.network),
        Field("asset", _string(), lambda q: q.asset),
        Field("address", _string(), lambda q: q.deposit_address.address),
        Field("amount_due_base_units", _BASE_UNITS, lambda q: str(int(q.amount_due))),
        Field("amount_due", _COINS, lambda q: coin_amount(q.amount_due, q.network, q.asset)),
        Field("rate", _string("Link currency per whole coin"), lambda q: format(q.rate.normalize(), "f")),
        Field("rate_source", _string(), lambda q: q.rate_source),
        Field("created_at", _TIME, lambda q: iso_utc(q.created_at)),
        Field("expires_at", _TIME, lambda q: iso_utc(q.expires_at)),
    ),
)

DEPOSIT = Shape(
    "Deposit",
    (
        Field("network", _string(), lambda v: v.deposit.network),
        Field("asset", _string(), lambda v: v.deposit.asset),
        Field("tx_hash", _string(), lambda v: v.deposit.tx_hash),
        Field("index", {"type": "integer"}, lambda v: v.deposit.index),
        Field("value_base_units", _BASE_UNITS, lambda v: str(int(v.deposit.value))),
        Field("value", _COINS, lambda v: coin_amount(v.deposit.value, v.deposit.network, v.deposit.asset)),
        Field("confirmations", {"type": "integer"}, lambda v: v.confirmations),
        Field("confirmations_required", {"type": "integer"}, lambda v: v.confirmations_required),
        Field("block_height", {"type": ["integer", "null"]}, lambda v: v.deposit.block_height),
        Field("orphaned", {"type": "boolean"}, lambda v: v.deposit.orphaned, "Its block left the chain: it no longer counts"),
        Field("counted", {"type": "boolean"}, lambda v: v.counted, "Counts towards the amount due"),
        Field("first_seen_at", _TIME, lambda v: iso_utc(v.deposit.first_seen_at), "When payram recorded it"),
        Field(
            "sent_at",
            _TIME,
            lambda v: iso_utc(v.deposit.paid_time),
            "When the network first had it: the node's mempool entry time, else its block's time. Decides paid late and refund due",
        ),
        Field(
            "coinbase",
            {"type": "boolean"},
            lambda v: v.deposit.coinbase,
            "A block reward: counts only once mature (Bitcoin: 100 confirmations)",
        ),
        Field("tx_url", _string(), lambda v: v.tx_url),
    ),
)

LINK = Shape(  # dumped by link_full (quotes and deposits need the state)
    "Link",
    (
        *LINK_SUMMARY.fields,
        Field("quotes", _array_of("Quote", "Newest first; the first is the customer's current quote")),
        Field("deposits", _array_of("Deposit", "Newest first, orphaned ones included")),
    ),
)


def _as_of(link: PaymentLink, state: LinkState) -> PaymentLink:
    """The link with its derived fields as `state` says (a webhook announces the state
    being stored); a copy, the caller's instance is left as it is."""
    seen = copy.copy(link)
    seen.status = state.status
    seen.status_detail = state.detail
    seen.amount_received = state.amount_received
    seen.received_network = state.received_network
    seen.received_asset = state.received_asset
    seen.paid_at = state.paid_at
    seen.amount_short = state.amount_short
    return seen


def link_summary(link: PaymentLink) -> dict:
    """The link as lists show it (no quotes, no deposits): from its stored fields."""
    return LINK_SUMMARY.dump(link)


def link_full(link: PaymentLink, state: LinkState, deposits: list[DepositView] | None = None) -> dict:
    """The link with its quotes (newest first) and deposits (newest first), its derived
    fields as `state` says."""
    deposits = link_deposits(link, state=state) if deposits is None else deposits
    quotes = link.quotes.select_related("deposit_address").order_by("-created_at", "-id")
    return {
        **LINK_SUMMARY.dump(_as_of(link, state)),
        "quotes": [QUOTE.dump(q) for q in quotes],
        "deposits": [DEPOSIT.dump(v) for v in deposits],
    }


# Webhooks: the full link, plus the keys the payload had before the shapes were one.


@dataclass(frozen=True)
class _Seen:
    """What the deprecated webhook keys read: the link, its state and its deposits."""

    link: PaymentLink
    state: LinkState

    @property
    def network(self) -> str:
        quote = self.state.quote
        return self.state.received_network or (quote.network if quote else "")

    @property
    def asset(self) -> str:
        quote = self.state.quote
        return self.state.received_asset or (quote.asset if quote else "")

    def coins(self, units) -> str | None:
        return coin_amount(units, self.network, self.asset)


def _transaction(view: DepositView) -> dict:
    return TRANSACTION.dump(view)


TRANSACTION = Shape(
    "WebhookTransaction",
    (
        Field("network", _string(), lambda v: v.deposit.network),
        Field("asset", _string(), lambda v: v.deposit.asset),
        Field("tx_hash", _string(), lambda v: v.deposit.tx_hash),
        Field("index", {"type": "integer"}, lambda v: v.deposit.index),
        Field("amount", _COINS, lambda v: coin_amount(v.deposit.value, v.deposit.network, v.deposit.asset)),
        Field("amount_base_units", _BASE_UNITS, lambda v: str(int(v.deposit.value))),
        Field("confirmations", {"type": "integer"}, lambda v: v.confirmations),
        Field("confirmations_required", {"type": "integer"}, lambda v: v.confirmations_required),
        Field("counted", {"type": "boolean"}, lambda v: v.counted),
        Field("orphaned", {"type": "boolean"}, lambda v: v.deposit.orphaned),
        Field("first_seen", _TIME, lambda v: iso_utc(v.deposit.first_seen_at)),
        Field("sent_at", _TIME, lambda v: iso_utc(v.deposit.paid_time)),
    ),
    "Deprecated (read `deposits`): a deposit as webhooks showed it before",
)

WEBHOOK_ALIASES = (
    Field("member_email", _string(), lambda s: s.link.member.email, deprecated="read `member.email`"),
    Field("created", _TIME, lambda s: iso_utc(s.link.created_at), deprecated="read `created_at`"),
    Field(
        "network",
        _string(),
        lambda s: s.network,
        deprecated="read `received.network`, or the first quote's before money arrived",
    ),
    Field("asset", _string(), lambda s: s.asset, deprecated="read `received.asset`, or the first quote's"),
    Field("amount_due", _COINS, lambda s: s.coins(s.state.amount_due), deprecated="read the first quote's `amount_due`"),
    Field(
        "amount_due_base_units",
        _NULLABLE_BASE_UNITS,
        lambda s: None if s.state.amount_due is None else str(s.state.amount_due),
        deprecated="read the first quote's `amount_due_base_units`",
    ),
    Field(
        "amount_received",
        _COINS,
        lambda s: s.coins(s.state.amount_received) if s.state.amount_received is not None else None,
        deprecated="read `received.amount`",
    ),
    Field(
        "amount_received_base_units",
        _NULLABLE_BASE_UNITS,
        lambda s: None if s.state.amount_received is None else str(s.state.amount_received),
        deprecated="read `received.amount_base_units`",
    ),
    Field(
        "amount_short",
        _COINS,
        lambda s: s.coins(s.state.amount_short) if s.state.amount_short else None,
        deprecated="read `received.short_by`",
    ),
    Field(
        "amount_short_base_units",
        _NULLABLE_BASE_UNITS,
        lambda s: str(s.state.amount_short) if s.state.amount_short else None,
        deprecated="read `received.short_by_base_units`",
    ),
)

WEBHOOK_LINK = Shape(
    "WebhookLink",
    (
        *LINK.fields,
        *WEBHOOK_ALIASES,
        Field(
            "transactions",
            _array_of("WebhookTransaction"),
            deprecated="read `deposits` (newest first; these are oldest first, `first_seen` is `first_seen_at`)",
        ),
    ),
    "The `link` of every webhook event: the API's Link, plus the keys webhooks carried before (deprecated)",
)


def webhook_link(link: PaymentLink, state: LinkState | None = None) -> dict:
    """The `link` object of every event: amounts are strings, never floats."""
    state = state or derive_status(link)
    deposits = link_deposits(link, state=state)
    seen = _Seen(link, state)
    return {
        **link_full(link, state, deposits),
        **{f.name: f.get(seen) for f in WEBHOOK_ALIASES},
        "transactions": [_transaction(v) for v in reversed(deposits)],  # oldest first
    }


def component_schemas() -> dict[str, dict]:
    """The OpenAPI components of the shapes (links.api.schema adds the request bodies)."""
    return {s.name: s.schema() for s in (MEMBER, RECEIVED, LINK_SUMMARY, SETTLEMENT, REFUND, QUOTE, DEPOSIT, LINK)}


def webhook_schemas() -> dict[str, dict]:
    """JSON Schemas of the webhook `link` (referring to component_schemas' names)."""
    return {s.name: s.schema() for s in (TRANSACTION, WEBHOOK_LINK)}


# The CSV export of All Payments: shared columns read the API's fields, formatted for a
# spreadsheet; the rest are the export's own.


def _spreadsheet_time(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _from(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[[PaymentLink], Any]:
    get = LINK_SUMMARY.by_name[name].get
    return lambda link: convert(get(link))


def _received_part(part: str) -> Callable[[PaymentLink], Any]:
    return _from("received", lambda r: (r[part] or "") if r else "")


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[PaymentLink], Any]


CSV_COLUMNS = (
    Column("Created (UTC)", _from("created_at", _spreadsheet_time)),
    Column("Code", _from("code")),
    Column("Project", lambda link: link.project.name),
    Column("Member email", _from("member", lambda m: m["email"])),
    Column("Member name", _from("member", lambda m: m["name"])),
    Column("Amount asked", _from("amount")),
    Column("Currency", _from("currency")),
    Column("Description", _from("description")),
    Column("Status", _from("status", lambda s: LinkStatus(s).label)),
    # Only where the detail says more than the status (the API's detail_label always says it):
    Column("Status detail", selectors.status_detail_words),
    Column("Amount received", _received_part("amount")),
    Column("Coin", _received_part("asset")),
    Column("Network", _from("received", lambda r: selectors.network_name(r["network"]) if r else "")),
    Column("Paid at (UTC)", _from("paid_at", _spreadsheet_time)),
    Column("Public URL", _from("url")),
    Column("Transactions", lambda link: len(selectors.link_transactions(link))),
    Column("Transaction hashes", lambda link: selectors.transactions_csv(selectors.link_transactions(link))),
    Column("Refund", selectors.refund_words),
)

CSV_HEADER = [c.header for c in CSV_COLUMNS]


def csv_row(link: PaymentLink) -> list:
    """One link as a row of the export (from the prefetch of selectors.payments_for_user)."""
    return [c.get(link) for c in CSV_COLUMNS]
