"""Webhook services: endpoints (create, rotate, toggle, delete), signing, the address
guard against request forgery, and delivery with retries.

Delivery is at least once. WebhookDelivery rows are an outbox (payram.lib.outbox, the
same mechanism as the emails'): each attempt claims its row for CLAIM_LEASE first, so the
task run after commit and the periodic sweep (`retry_due_webhooks`) never send the same
attempt twice at the same time; a worker that dies mid-attempt leaves a lease that
expires, and the sweep sends it again. Receivers drop duplicates by the event id."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from links.notifications.models import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_signing_secret,
)
from payram.lib.background import run_after_commit
from payram.lib.outbox import Outbox

logger = logging.getLogger("links.webhooks")

SIGNATURE_HEADER = "Payram-Signature"
TIMEOUT_SECONDS = 10
RESPONSE_EXCERPT_CHARS = 500
# Wait after the n-th failed attempt: 9 attempts over about 23 hours.
RETRY_SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# How long a claimed attempt is reserved: longer than the HTTP timeout.
CLAIM_LEASE = timedelta(seconds=TIMEOUT_SECONDS * 6)
USER_AGENT = "payram-webhooks/1"

OUTBOX = Outbox(
    model=WebhookDelivery,
    schedule=RETRY_SCHEDULE,
    lease=CLAIM_LEASE,
    logger=logger,
    noun="webhook delivery",
    state_field="state",
    waiting=DeliveryState.PENDING,
    succeeded=DeliveryState.SUCCEEDED,
    failed=DeliveryState.FAILED,
    # A switched-off endpoint's deliveries wait; a redelivery asked for by hand goes anyway.
    sweep_filter=Q(endpoint__is_active=True) | Q(manual=True),
)


# Signing


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Payram-Signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_body(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed for an event (stable across attempts; the timestamp is in the header)."""
    return json.dumps(event.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# The address guard


class ForbiddenAddress(Exception):
    """The URL's host is (or resolves to) an address payram must not call."""


def allow_private() -> bool:
    return bool(settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE)


_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # an operator's own translator: never public


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries and that some host or translator on
    the way may connect to instead: mapped, compatible, translated, NAT64, 6to4, Teredo
    (server and client) and ISATAP interface identifiers."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED or ip in _NAT64_WELL_KNOWN:
        found.append(low32)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    if (int(ip) >> 32) & 0xFDFFFFFF == 0x00005EFE:  # ISATAP: ::0:5efe:a.b.c.d or ::200:5efe:a.b.c.d
        found.append(low32)
    return found


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return True
        if any(_forbidden_ip(inner) for inner in _embedded_ipv4(ip)):
            return True
    return not ip.is_global or ip.is_multicast


def _unambiguous(url: str, parts) -> None:
    """Refuse a URL whose host is not read the same way by every parser on its way: Python's
    urlsplit (this check) and urllib3 (the request) disagree about backslashes, and user
    info ('user@') lets the host hide behind what looks like one."""
    if any(ch == "\\" or ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ForbiddenAddress("the URL contains a backslash, a space or a control character")
    if "@" in parts.netloc:
        raise ForbiddenAddress("the URL may not contain a user name or password (the signing secret authenticates payram)")
    try:
        port = parts.port
        other = parse_url(url)
    except (ValueError, LocationParseError):
        raise ForbiddenAddress("the URL's host or port is not valid") from None
    if (other.host or "").strip("[]").lower() != (parts.hostname or "").lower() or (other.port or None) != port:
        raise ForbiddenAddress("the URL's host is ambiguous")


def check_ip(address: str) -> None:
    if allow_private():
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if _forbidden_ip(ip):
        inner = [str(v4) for v4 in _embedded_ipv4(ip) if _forbidden_ip(v4)] if ip.version == 6 else []
        carries = f" (it carries {inner[0]})" if inner else ""
        raise ForbiddenAddress(f"{ip}{carries} is a loopback, private, link-local or reserved address")


def check_url(url: str) -> None:
    """Refuse URLs payram must not call: not http(s), or a host that is or resolves to a
    loopback, private, link-local or otherwise non-public address (unless the operator set
    PAYRAM_WEBHOOK_ALLOW_PRIVATE). Called when an endpoint is saved; the connection made at
    delivery is checked again (DNS can change)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForbiddenAddress("the URL must start with http:// or https:// and name a host")
    _unambiguous(url, parts)
    if allow_private():
        return
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError):
        raise ForbiddenAddress(f"the host {parts.hostname} does not resolve") from None
    for info in infos:
        check_ip(info[4][0])


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock)
        return sock


def _check_peer(sock: socket.socket) -> None:
    """The address actually connected to, so a DNS answer changed after the save-time
    check (rebinding) still cannot reach the merchant's own network."""
    try:
        check_ip(sock.getpeername()[0])
    except ForbiddenAddress:
        sock.close()
        raise


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the peer check must see the real peer
    adapter = requests.adapters.HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# Endpoints


def _clean_events(events: list[str]) -> list[str]:
    chosen = [e for e in EVENT_TYPES if e in set(events)]
    if not chosen:
        raise ValidationError({"events": "Pick at least one event to send."})
    return chosen


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        check_url(url)
    except ForbiddenAddress as exc:
        raise ValidationError({"url": f"payram will not send webhooks there: {exc}."}) from None
    return url


def endpoint_create(*, project, url: str, events: list[str]) -> WebhookEndpoint:
    """A new active endpoint with a fresh signing secret (show `endpoint.secret` once)."""
    return WebhookEndpoint.objects.create(project=project, url=_clean_url(url), events=_clean_events(events))


def endpoint_update(*, endpoint: WebhookEndpoint, url: str, events: list[str]) -> WebhookEndpoint:
    endpoint.url = _clean_url(url)
    endpoint.events = _clean_events(events)
    endpoint.save(update_fields=["url", "events"])
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret at once; the old one stops signing (show the new one once)."""
    endpoint.secret = new_signing_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint


def endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    endpoint.is_active = active
    endpoint.save(update_fields=["is_active"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# Events and deliveries


def event_record(*, project, event_type: str, payload_without_id: dict, link=None) -> WebhookEvent:
    """Store an event and queue it to every active endpoint that wants it, delivered after
    the surrounding transaction commits. Never raises into the caller's page or scan for a
    delivery problem: sending happens later."""
    event = WebhookEvent(project=project, link=link, type=event_type)
    event.created_at = timezone.now()
    event.payload = {"id": event.id, "type": event_type, "created": _iso(event.created_at), **payload_without_id}
    event.save(force_insert=True)
    deliveries = [
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=event.created_at)
        for endpoint in WebhookEndpoint.objects.filter(project=project, is_active=True)
        if endpoint.wants(event_type)
    ]
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        ids = list(WebhookDelivery.objects.filter(event=event).values_list("id", flat=True))
        _deliver_after_commit(ids)
    return event


def event_redeliver(*, event: WebhookEvent, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send an event again to one endpoint (a new delivery with its own retries)."""
    if event.project_id != endpoint.project_id:
        raise ValidationError("This event belongs to another project.")
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, manual=True, next_attempt_at=timezone.now())
    _deliver_after_commit([delivery.id])
    return delivery


def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, whatever it subscribes to."""
    now = timezone.now()
    event = WebhookEvent(project=endpoint.project, type=TEST_EVENT_TYPE, created_at=now)
    event.payload = {
        "id": event.id,
        "type": TEST_EVENT_TYPE,
        "created": _iso(now),
        "project": {"id": endpoint.project_id, "name": endpoint.project.name},
        "message": "A test event from payram: your endpoint is reachable and can check the signature.",
    }
    event.save(force_insert=True)
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, manual=True, next_attempt_at=now)
    _deliver_after_commit([delivery.id])
    return delivery


def _deliver_after_commit(delivery_ids: list[int]) -> None:
    run_after_commit(deliver_webhooks_task, delivery_ids)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deliver(delivery_id: int, *, now: datetime | None = None) -> WebhookAttempt | None:
    """Make the delivery's due attempt, if it is due and no one else is making it. Records
    the attempt and schedules the next one on failure. Never raises for a network problem."""
    now = now or timezone.now()
    delivery = OUTBOX.claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    event = WebhookEvent.objects.get(pk=delivery.event_id)
    if not endpoint.is_active and not delivery.manual:
        # Switched off since: keep it pending, the sweep tries again on schedule.
        OUTBOX.postpone(delivery, now + RETRY_SCHEDULE[-1])
        return None
    attempt = _post(endpoint, event, number=delivery.attempts + 1)
    with transaction.atomic():
        recorded = OUTBOX.record(delivery, ok=attempt.ok, at=attempt.attempted_at, last_status_code=attempt.status_code)
        attempt.delivery = delivery
        attempt.save()  # the POST was made: its log stays even when the outcome came too late
    if not recorded:
        logger.warning(
            "webhook %s (%s) to endpoint %s: attempt %s outlived its claim, the outcome was not recorded",
            event.id,
            event.type,
            endpoint.code,
            attempt.number,
        )
    if not attempt.ok:
        logger.warning(
            "webhook %s (%s) to endpoint %s: attempt %s failed (%s)%s",
            event.id,
            event.type,
            endpoint.code,
            attempt.number,
            attempt.status_code or attempt.error,
            "" if delivery.state == DeliveryState.PENDING else "; giving up",
        )
    return attempt


def _post(endpoint: WebhookEndpoint, event: WebhookEvent, *, number: int) -> WebhookAttempt:
    body = event_body(event)
    started_at = timezone.now()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        "Payram-Event-Id": event.id,
        "Payram-Event-Type": event.type,
    }
    attempt = WebhookAttempt(number=number, attempted_at=started_at)
    clock = time.monotonic()
    try:
        check_url(endpoint.url)
        with _session() as session:
            response = session.post(
                endpoint.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True
            )
            try:
                raw = response.raw.read(RESPONSE_EXCERPT_CHARS * 4, decode_content=True) or b""
            finally:
                response.close()
        attempt.status_code = response.status_code
        attempt.response_excerpt = raw.decode(response.encoding or "utf-8", errors="replace")[:RESPONSE_EXCERPT_CHARS]
        if 300 <= response.status_code < 400:
            attempt.error = "redirects are not followed: answer 2xx at the endpoint's URL"
    except ForbiddenAddress as exc:
        attempt.error = f"refused: {exc}"[:300]
    except requests.Timeout:
        attempt.error = f"timed out after {TIMEOUT_SECONDS} s"
    except requests.ConnectionError as exc:
        attempt.error = f"connection failed: {_reason(exc)}"[:300]
    except requests.RequestException as exc:
        attempt.error = f"request failed: {type(exc).__name__}"[:300]
    attempt.duration_ms = int((time.monotonic() - clock) * 1000)
    return attempt


def _reason(exc: requests.ConnectionError) -> str:
    """A short reason without the URL (which the merchant may have put a token in)."""
    inner = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)  # urllib3's MaxRetryError wraps the socket error
    return type(inner).__name__


def retry_due_webhooks(*, now: datetime | None = None) -> int:
    """Send every delivery whose next attempt is due (first tries whose task was lost,
    and retries), oldest first, as many as one bounded pass of the outbox allows. Returns
    how many attempts were made. For beat or the scan loop."""
    return OUTBOX.sweep(lambda delivery_id: deliver(delivery_id, now=now) is not None, now=now)


# The first try, right after the event's transaction committed (payram.lib.background).
@shared_task(name="links.tasks.deliver_webhooks_task", ignore_result=True, acks_late=True)
def deliver_webhooks_task(delivery_ids: list[int]) -> int:
    """First attempt of these deliveries, right after the event's transaction committed.
    Failures are scheduled on the delivery row and retried by retry_due_webhooks."""
    made = 0
    for delivery_id in delivery_ids:
        try:
            made += deliver(delivery_id) is not None
        except Exception:  # the sweep retries it: the row is still pending
            logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
    return made
