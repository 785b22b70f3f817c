"""The JSON-over-HTTP transport the EVM and Tron adapters share: one POST, the answer read
within PAYRAM_NODE_ANSWER_MAX_MB and refused when nested too deep (json's C scanner would
crash the worker), every failure a NodeError naming the node by its redacted URL only.
A node that does not answer at all (refused, timed out, HTTP 5xx) is NodeUnreachable."""

from __future__ import annotations

import json
from typing import Any

import requests

from chain.adapters import base
from chain.adapters.base import NodeError, NodeUnreachable
from payram.lib.jsonguard import NODE_ANSWER_MAX_DEPTH, json_too_deep


def read_capped(response: requests.Response, where: str) -> bytes:
    """The answer's body (decompressed), refused past NODE_ANSWER_MAX_BYTES."""
    limit = base.NODE_ANSWER_MAX_BYTES
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1 << 20):
        size += len(chunk)
        if size > limit:
            raise NodeError(f"node {where} answered more than {limit // (1024 * 1024)} MB; refused (PAYRAM_NODE_ANSWER_MAX_MB)")
        chunks.append(chunk)
    return b"".join(chunks)


def post_json(
    session: requests.Session,
    url: str,
    payload: Any,
    *,
    where: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    max_depth: int = NODE_ANSWER_MAX_DEPTH,
    what: str = "",
) -> Any:
    """POST `payload` as JSON and return the decoded answer. `what` (e.g. a path) is named
    in the errors about this request's answer."""
    to = f" to {what}" if what else ""
    try:
        with session.post(url, json=payload, headers=headers, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                error = NodeUnreachable if response.status_code >= 500 else NodeError
                raise error(f"node {where} answered HTTP {response.status_code}{to}")
            content = read_capped(response, where)
    except requests.Timeout:
        raise NodeUnreachable(f"node {where} did not answer within {timeout:g} s") from None
    except requests.ConnectionError:
        raise NodeUnreachable(f"node {where} is unreachable (connection failed)") from None
    except requests.RequestException as exc:
        raise NodeUnreachable(f"node {where} request failed ({type(exc).__name__})") from None
    if json_too_deep(content, max_depth):
        raise NodeError(f"node {where} answered JSON nested deeper than {max_depth}")
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        raise NodeError(f"node {where} answered malformed JSON{to}") from None
