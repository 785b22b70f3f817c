"""Fixed-window rate limits kept in Django's cache (Redis in production, LocMem in the
embedded default), so every web process shares the counters.

A limit is `count` hits per `seconds`. The counter of the current window is created with
cache.add (a no-op when it exists) and bumped with cache.incr: both atomic in Redis and
in LocMem, so concurrent requests never both slip under the limit.

Limits are named and read from settings.PAYRAM_RATE_LIMITS ({name: (count, seconds)}),
falling back to DEFAULT_LIMITS; a count of 0 turns that limit off. If the cache is down
the request is allowed (logged): a broken Redis must not take checkout down with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

# Budgets are per client address and per link. One address is often many customers (a
# carrier-grade NAT, an office, a hotel): per-address budgets are set so that a hundred
# customers behind one address, each loading the page, picking a coin or two and
# polling, never reach them; the per-link ones (one link is one customer) are tighter.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    # The pay page: picking a coin creates a quote (a price lookup, maybe an address).
    "pay_quote_ip": (300, 60),
    "pay_quote_link": (30, 60),
    # Loading the pay page, or a status poll whose answer changed (a rendered page or fragment).
    "pay_page_ip": (600, 60),
    "pay_page_link": (120, 60),
    # Status polls that answer "nothing changed" (204, every 3 s per open page = 20 a
    # minute): never limited for a customer; only a flood from one address is stopped.
    "pay_poll_ip": (6000, 60),
    "pay_poll_link": (0, 60),  # off: a link watched from many addresses costs no more
    # Link previews and hosted images (links.share_views): a chat app's crawler fetching
    # the card and its preview image, an email client or its image proxy loading the QR.
    # Many customers' links come from one crawler address, and a refused preview is a
    # broken card, so only a flood is stopped; the answers are read-only and cached.
    "pay_preview_ip": (3000, 60),
    # Sign-in: failed attempts only.
    "login_ip": (20, 300),
    "login_username": (5, 300),
    # Opening or accepting a team invitation (/invite/<token>/), every request counted.
    "invite_ip": (60, 300),
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit_name: str = ""
    retry_after: int = 0  # seconds until the window that refused resets


ALLOWED = Verdict(True)


def limit_for(name: str) -> tuple[int, int]:
    configured = getattr(settings, "PAYRAM_RATE_LIMITS", None) or {}
    count, seconds = configured.get(name, DEFAULT_LIMITS[name])
    return int(count), max(1, int(seconds))


def parse_limits(text: str) -> dict[str, tuple[int, int]]:
    """'pay_quote_ip=10/60,login_ip=20/300' -> {name: (count, seconds)}; ValueError names the bad part."""
    limits: dict[str, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, rule = part.partition("=")
        name = name.strip()
        count, slash, seconds = rule.partition("/")
        if (
            not sep
            or not slash
            or name not in DEFAULT_LIMITS
            or not count.strip().isdigit()
            or not seconds.strip().isdigit()
            or int(seconds) < 1
        ):
            raise ValueError(
                f"{part!r} is not NAME=COUNT/SECONDS with NAME one of {', '.join(DEFAULT_LIMITS)} (COUNT 0 turns a limit off)"
            )
        limits[name] = (int(count), int(seconds))
    return limits


def client_ip(request: HttpRequest) -> str:
    """The address that hit us, or, behind PAYRAM_TRUSTED_PROXIES reverse proxies, the
    address the outermost of them saw. Only the hops our own proxies appended count: the
    left end of X-Forwarded-For is whatever the client chose to send. IPv6 clients are
    grouped by /64 (what one customer usually holds)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "PAYRAM_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if hops:
            remote = hops[-proxies] if len(hops) >= proxies else hops[0]
    try:
        addr = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64] or "unknown"
    if addr.version == 6 and not addr.ipv4_mapped:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr.ipv4_mapped or addr) if addr.version == 6 else str(addr)


def _key(name: str, ident: str, window: int) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]  # no raw user input in cache keys
    return f"rl:{name}:{digest}:{window}"


def _window(name: str) -> tuple[int, int, int, int]:
    count, seconds = limit_for(name)
    now = time.time()
    window = int(now // seconds)
    retry_after = max(1, math.ceil((window + 1) * seconds - now))
    return count, seconds, window, retry_after


def _count(name: str, ident: str) -> tuple[Verdict, str | None]:
    """Count one hit; the verdict and the counter's key (None when nothing was counted)."""
    count, seconds, window, retry_after = _window(name)
    if count <= 0:
        return ALLOWED, None
    key = _key(name, ident, window)
    try:
        cache.add(key, 0, timeout=seconds + 1)
        try:
            value = cache.incr(key)
        except ValueError:  # expired between add and incr: this hit starts the window
            cache.add(key, 1, timeout=seconds + 1)
            value = 1
    except Exception:  # noqa: BLE001 - the cache is down: allow, say so
        log.warning("rate limit %s not checked: the cache is unavailable", name, exc_info=True)
        return ALLOWED, None
    return (ALLOWED if value <= count else Verdict(False, name, retry_after)), key


def hit(name: str, ident: str) -> Verdict:
    """Count one hit against the limit; refuse when it is over."""
    return _count(name, ident)[0]


@dataclass
class Reservation:
    """Hits counted before the work they limit, to be handed back if it went well."""

    verdict: Verdict
    keys: list[str]

    def release(self) -> None:
        """Take the hits back (a limit on failures does not count a success)."""
        for key in self.keys:
            try:
                cache.decr(key)
            except ValueError:  # the window ended meanwhile: nothing left to take back
                pass
            except Exception:  # noqa: BLE001
                log.warning("rate limit counter not released: the cache is unavailable", exc_info=True)
        self.keys = []


def reserve(*limits: tuple[str, str]) -> Reservation:
    """Count the attempt against each (name, ident) *before* doing it, stopping at the
    first refusal. The increment is atomic, so however many attempts arrive at once, no
    more than COUNT of them are allowed per window; release() when the attempt turned out
    not to count (a limit on failed sign-ins and a right password)."""
    keys: list[str] = []
    for name, ident in limits:
        verdict, key = _count(name, ident)
        if key is not None:
            keys.append(key)
        if not verdict.allowed:
            return Reservation(verdict, keys)
    return Reservation(ALLOWED, keys)


def check(*limits: tuple[str, str]) -> Verdict:
    """hit() each (name, ident) in order and stop at the first refusal: put the per-client
    limit first, so a client already refused does not use up the shared per-link one."""
    for name, ident in limits:
        verdict = hit(name, ident)
        if not verdict.allowed:
            return verdict
    return ALLOWED
