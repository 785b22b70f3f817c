"""The OpenAPI 3.1 document of /api/v1/, served at /api/v1/openapi.json. The objects the
API answers with (a link, its quotes, deposits, member, settlement, refunds) are not
written here: they are generated from links.shape, the declaration the views dump them
with. Paths, parameters and request bodies are written here; tests/api check that every
route in links.api.urls is described and that real answers validate against the document
(no property missing, none undocumented)."""

from __future__ import annotations

from links.forms import CURRENCIES
from links.models import LinkStatus
from links.shape import component_schemas

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
            "LinkPage": {
                "type": "object",
                "required": ["data", "next_cursor"],
                "properties": {
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/LinkSummary"}},
                    "next_cursor": {"type": ["string", "null"]},
                },
                "additionalProperties": False,
            },
            # Member, Link, LinkSummary, Quote, Deposit, Received, Settlement, Refund:
            **component_schemas(),
        },
    },
}
