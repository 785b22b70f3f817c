"""The OpenAPI 3.1 document of /api/v1/, served at /api/v1/openapi.json. Kept next to
links.api.views: tests/api check that every route in links.api.urls is described here and
that the answers the views give validate against it."""

from __future__ import annotations

from links.forms import CURRENCIES
from links.models import LinkStatus
from links.status import DETAIL_LABELS

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TIME = {"type": "string", "format": "date-time"}

_ERRORS_REF = {"$ref": "#/components/responses/Errors"}
_UNAUTHORIZED_REF = {"$ref": "#/components/responses/Unauthorized"}
_NOT_FOUND_REF = {"$ref": "#/components/responses/NotFound"}
_TOO_LARGE_REF = {"$ref": "#/components/responses/TooLarge"}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


_CODE_PARAM = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The link's public code (the last part of its public URL).",
    "schema": {"type": "string"},
}

OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "payram API",
        "version": "1.0.0",
        "description": (
            "Create and follow payment links from your shop, bot or CRM. Every request carries a "
            "project's API key (`Authorization: Bearer pk_live_…`); a key sees only its own project. "
            "Bodies are JSON. Money is never a float: fiat amounts are decimal strings, on-chain "
            "amounts are integer strings in base units (`*_base_units`) plus the same value in whole "
            'coins. Errors answer `{"errors": {"field": ["message", …]}}` with the dashboard\'s '
            "messages; `non_field_errors` holds what belongs to no one field."
        ),
    },
    "security": [{"bearerAuth": []}],
    "paths": {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/v1/members": {
            "post": {
                "operationId": "createMember",
                "summary": "Add a member (a customer) to the key's project",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MemberCreate"}}},
                },
                "responses": {
                    "201": _json("#/components/schemas/Member", "The member was added"),
                    "400": _ERRORS_REF,
                    "401": _UNAUTHORIZED_REF,
                    "413": _TOO_LARGE_REF,
                },
            }
        },
        "/api/v1/links": {
            "post": {
                "operationId": "createLink",
                "summary": "Create a payment link",
                "description": (
                    "The member is named by email and added to the project if new (with `member_name`). "
                    '`amount` is a decimal string ("19.99") or a JSON number, at most 2 decimal places. '
                    "`currency` defaults to USD. `expires_at` is ISO 8601; without an offset it is read in "
                    "the server's time zone."
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LinkCreate"}}},
                },
                "responses": {
                    "201": _json("#/components/schemas/Link", "The link was created; send its `url` to the customer"),
                    "400": _ERRORS_REF,
                    "401": _UNAUTHORIZED_REF,
                    "413": _TOO_LARGE_REF,
                },
            },
            "get": {
                "operationId": "listLinks",
                "summary": "List the project's links, newest first",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(LinkStatus.values)},
                    },
                    {
                        "name": "member_email",
                        "in": "query",
                        "required": False,
                        "description": "Only this member's links (case-insensitive).",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "Links per page, 1 to 100 (default 20).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "required": False,
                        "description": "`next_cursor` from the previous page: an opaque token signed for this project (an altered or made-up one is a 400).",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": _json("#/components/schemas/LinkPage", "One page of links"),
                    "400": _ERRORS_REF,
                    "401": _UNAUTHORIZED_REF,
                },
            },
        },
        "/api/v1/links/{code}": {
            "get": {
                "operationId": "getLink",
                "summary": "One link with its status, quotes and deposits",
                "parameters": [_CODE_PARAM],
                "responses": {
                    "200": _json("#/components/schemas/Link", "The link, its status freshly derived"),
                    "401": _UNAUTHORIZED_REF,
                    "404": _NOT_FOUND_REF,
                },
            }
        },
        "/api/v1/links/{code}/cancel": {
            "post": {
                "operationId": "cancelLink",
                "summary": "Cancel a link that has not been paid",
                "description": "Cancelling twice changes nothing. A paid link answers 409.",
                "parameters": [_CODE_PARAM],
                "responses": {
                    "200": _json("#/components/schemas/Link", "The link, cancelled"),
                    "401": _UNAUTHORIZED_REF,
                    "404": _NOT_FOUND_REF,
                    "409": _json("#/components/schemas/Errors", "The link was already paid"),
                    "413": _TOO_LARGE_REF,
                },
            }
        },
        "/api/v1/links/{code}/settle": {
            "post": {
                "operationId": "settleLink",
                "summary": "Mark an underpaid or refund-due link as paid, with a note",
                "description": (
                    "For a link the chain alone cannot resolve: underpaid, or money received after it "
                    "closed (refund due). The link becomes successful with detail `settled`; recorded "
                    "deposits are unchanged; `settlement` keeps who (the key's name), when, the note and "
                    "the state before, and `link.settled` is sent to webhooks. Other links answer 409."
                ),
                "parameters": [_CODE_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["note"],
                                "properties": {"note": {"type": "string", "minLength": 1, "maxLength": 500}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("#/components/schemas/Link", "The link, marked as paid"),
                    "400": _ERRORS_REF,
                    "401": _UNAUTHORIZED_REF,
                    "404": _NOT_FOUND_REF,
                    "409": _json(
                        "#/components/schemas/Errors",
                        "The link cannot be marked as paid (already paid, pending, cancelled with nothing received)",
                    ),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A project's API key, created once in the dashboard (Projects → API keys).",
            }
        },
        "responses": {
            "Errors": _json("#/components/schemas/Errors", "Bad input: each field with its messages"),
            "Unauthorized": _json("#/components/schemas/Errors", "No key, an unknown key or a revoked key"),
            "NotFound": _json("#/components/schemas/Errors", "No such link in this key's project"),
            "TooLarge": _json("#/components/schemas/Errors", "The body is larger than the server takes (1 MiB by default)"),
        },
        "schemas": {
            "Errors": {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    }
                },
            },
            "MemberCreate": {
                "type": "object",
                "required": ["email"],
                "properties": {
                    "email": {"type": "string", "format": "email", "maxLength": 254},
                    "name": {"type": "string", "maxLength": 100},
                },
            },
            "Member": {
                "type": "object",
                "required": ["email", "name", "created_at"],
                "properties": {"email": {"type": "string"}, "name": {"type": "string"}, "created_at": _TIME},
            },
            "LinkCreate": {
                "type": "object",
                "required": ["member_email", "amount"],
                "properties": {
                    "member_email": {"type": "string", "format": "email", "maxLength": 254},
                    "member_name": {"type": "string", "maxLength": 100},
                    "amount": {
                        "anyOf": [
                            {"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,2})?$"},
                            {"type": "number", "minimum": 0.01, "maximum": 1000000000},
                        ]
                    },
                    "currency": {"type": "string", "enum": [code for code, _ in CURRENCIES]},
                    "description": {"type": "string", "maxLength": 500},
                    "expires_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
            "Received": {
                "type": "object",
                "required": ["network", "asset", "amount_base_units", "amount"],
                "properties": {
                    "network": {"type": "string"},
                    "asset": {"type": "string"},
                    "amount_base_units": {"type": "string", "pattern": "^[0-9]+$"},
                    "amount": {
                        "type": ["string", "null"],
                        "description": "In whole coins; null if the asset is no longer configured",
                    },
                    "short_by_base_units": {
                        "type": ["string", "null"],
                        "pattern": "^[0-9]+$",
                        "description": "Detail paid_short: how far short of the amount due the payment accepted as paid fell",
                    },
                    "short_by": {"type": ["string", "null"], "description": "short_by_base_units in whole coins"},
                },
            },
            "LinkSummary": {
                "type": "object",
                "required": [
                    "code",
                    "url",
                    "status",
                    "detail",
                    "detail_label",
                    "amount",
                    "currency",
                    "description",
                    "member",
                    "created_at",
                    "expires_at",
                    "cancelled_at",
                    "paid_at",
                    "received",
                    "settlement",
                    "refunds",
                ],
                "properties": {
                    "code": {"type": "string"},
                    "url": {"type": "string", "description": "The public pay page: send it to the customer"},
                    "status": {"type": "string", "enum": list(LinkStatus.values)},
                    "detail": {"type": "string", "enum": list(DETAIL_LABELS)},
                    "detail_label": {"type": "string"},
                    "amount": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"},
                    "currency": {"type": "string"},
                    "description": {"type": "string"},
                    "member": {"$ref": "#/components/schemas/Member"},
                    "created_at": _TIME,
                    "expires_at": _NULLABLE_TIME,
                    "cancelled_at": _NULLABLE_TIME,
                    "paid_at": _NULLABLE_TIME,
                    "received": {"anyOf": [{"$ref": "#/components/schemas/Received"}, {"type": "null"}]},
                    "settlement": {"anyOf": [{"$ref": "#/components/schemas/Settlement"}, {"type": "null"}]},
                    "refunds": {"type": "array", "items": {"$ref": "#/components/schemas/Refund"}, "description": "Oldest first"},
                },
            },
            "Settlement": {
                "type": "object",
                "description": "The link was marked as paid by hand: the audit record",
                "required": [
                    "settled_at",
                    "settled_by",
                    "note",
                    "status_before",
                    "detail_before",
                    "amount_received_before_base_units",
                ],
                "properties": {
                    "settled_at": _TIME,
                    "settled_by": {"type": "string", "description": "The merchant's user name, or “API key <name>”"},
                    "note": {"type": "string"},
                    "status_before": {"type": "string", "enum": list(LinkStatus.values)},
                    "detail_before": {"type": "string", "enum": list(DETAIL_LABELS)},
                    "amount_received_before_base_units": {"type": ["string", "null"], "pattern": "^[0-9]+$"},
                },
            },
            "Refund": {
                "type": "object",
                "description": (
                    "A refund the merchant asked for: the customer gives an address at `url`; the merchant "
                    "sends from their own wallet; `sent` once a transfer of at least `amount` in `asset` "
                    "reached the address (in a block) after the refund was asked."
                ),
                "required": [
                    "code",
                    "state",
                    "reason",
                    "network",
                    "asset",
                    "amount",
                    "amount_base_units",
                    "url",
                    "address",
                    "sent_tx",
                    "created_at",
                    "address_given_at",
                    "sent_at",
                ],
                "properties": {
                    "code": {"type": "string"},
                    "state": {"type": "string", "enum": ["requested", "address_given", "sent"]},
                    "reason": {"type": "string", "enum": ["refund_due", "overpaid", "underpaid"]},
                    "network": {"type": "string"},
                    "asset": {"type": "string"},
                    "amount": {"type": ["string", "null"]},
                    "amount_base_units": {"type": "string", "pattern": "^[0-9]+$"},
                    "url": {"type": "string", "description": "The customer's page to give the refund address"},
                    "address": {"type": ["string", "null"]},
                    "sent_tx": {"type": ["string", "null"]},
                    "created_at": _TIME,
                    "address_given_at": _NULLABLE_TIME,
                    "sent_at": _NULLABLE_TIME,
                },
            },
            "Quote": {
                "type": "object",
                "required": [
                    "network",
                    "asset",
                    "address",
                    "amount_due_base_units",
                    "amount_due",
                    "rate",
                    "rate_source",
                    "created_at",
                    "expires_at",
                ],
                "properties": {
                    "network": {"type": "string"},
                    "asset": {"type": "string"},
                    "address": {"type": "string"},
                    "amount_due_base_units": {"type": "string", "pattern": "^[0-9]+$"},
                    "amount_due": {"type": ["string", "null"]},
                    "rate": {"type": "string", "description": "Link currency per whole coin"},
                    "rate_source": {"type": "string"},
                    "created_at": _TIME,
                    "expires_at": _TIME,
                },
            },
            "Deposit": {
                "type": "object",
                "required": [
                    "network",
                    "asset",
                    "tx_hash",
                    "index",
                    "value_base_units",
                    "value",
                    "confirmations",
                    "confirmations_required",
                    "block_height",
                    "orphaned",
                    "counted",
                    "first_seen_at",
                    "sent_at",
                    "coinbase",
                    "tx_url",
                ],
                "properties": {
                    "network": {"type": "string"},
                    "asset": {"type": "string"},
                    "tx_hash": {"type": "string"},
                    "index": {"type": "integer"},
                    "value_base_units": {"type": "string", "pattern": "^[0-9]+$"},
                    "value": {"type": ["string", "null"]},
                    "confirmations": {"type": "integer"},
                    "confirmations_required": {"type": "integer"},
                    "block_height": {"type": ["integer", "null"]},
                    "orphaned": {"type": "boolean", "description": "Its block left the chain: it no longer counts"},
                    "counted": {"type": "boolean", "description": "Counts towards the amount due"},
                    "first_seen_at": {**_TIME, "description": "When payram recorded it"},
                    "sent_at": {
                        **_TIME,
                        "description": "When the network first had it: the node's mempool entry time, else its block's time. Decides paid late and refund due",
                    },
                    "coinbase": {
                        "type": "boolean",
                        "description": "A block reward: counts only once mature (Bitcoin: 100 confirmations)",
                    },
                    "tx_url": {"type": "string"},
                },
            },
            "Link": {
                "allOf": [
                    {"$ref": "#/components/schemas/LinkSummary"},
                    {
                        "type": "object",
                        "required": ["quotes", "deposits"],
                        "properties": {
                            "quotes": {"type": "array", "items": {"$ref": "#/components/schemas/Quote"}},
                            "deposits": {"type": "array", "items": {"$ref": "#/components/schemas/Deposit"}},
                        },
                    },
                ]
            },
            "LinkPage": {
                "type": "object",
                "required": ["data", "next_cursor"],
                "properties": {
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/LinkSummary"}},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
        },
    },
}
