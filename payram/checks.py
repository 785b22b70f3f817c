"""payram's own `manage.py check --deploy` checks, next to Django's."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_base_url(app_configs=None, **kwargs) -> list:
    """Customers open share links and QR codes built from PAYRAM_BASE_URL: in production
    it must be set, and https, or customers would pay from a page anyone on the path can change."""
    if settings.DEBUG:
        return []
    base = getattr(settings, "PAYRAM_BASE_URL", "") or ""
    if not base:
        return [
            Error(
                "PAYRAM_BASE_URL is not set.",
                hint="Set it to the public https address customers open, e.g. https://pay.example.com.",
                id="payram.E001",
            )
        ]
    parsed = urlparse(base)
    if parsed.scheme != "https":
        return [
            Error(
                f"PAYRAM_BASE_URL must be https in production (it is {parsed.scheme}://).",
                hint="Serve payram behind TLS and set PAYRAM_BASE_URL=https://…",
                id="payram.E002",
            )
        ]
    host = parsed.hostname or ""
    allowed = settings.ALLOWED_HOSTS
    if "*" not in allowed and not any(host == h or (h.startswith(".") and (host.endswith(h) or host == h[1:])) for h in allowed):
        return [
            Warning(
                f"PAYRAM_BASE_URL's host {host} is not in ALLOWED_HOSTS.",
                hint="Add it, or the links customers open will answer 400.",
                id="payram.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs=None, **kwargs) -> list:
    if "payram.lib.security.ContentSecurityPolicyMiddleware" not in settings.MIDDLEWARE:
        return [Warning("The Content-Security-Policy middleware is not installed.", id="payram.W002")]
    return []
