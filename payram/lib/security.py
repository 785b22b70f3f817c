"""Security headers Django's own middleware does not set: a Content-Security-Policy that
lets the browser run and style only our own files.

The templates carry no inline script, style attribute or event handler (tests check it
with a real browser), so `'self'` is enough. The admin's pages ship a few inline
things of their own; PAYRAM_CSP_ADMIN (default: the same policy) exists should a future
Django version need more there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.debug import SafeExceptionReporterFilter

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def content_security_policy(path: str) -> str:
    policy = getattr(settings, "PAYRAM_CSP", DEFAULT_CSP)
    admin_policy = getattr(settings, "PAYRAM_CSP_ADMIN", None)
    if admin_policy and path.startswith("/admin/"):
        return admin_policy
    return policy


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy to every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = content_security_policy(request.path)
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class SecretSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings and request variables whose names say API, KEY,
    SECRET, PASS or TOKEN. payram's credentials also live in URLs whose names say none of
    that (REDIS_URL, CELERY_BROKER_URL, DATABASE_URL, PAYRAM_RPC_* in the environment,
    which runserver copies into request.META): hide those too in error reports."""

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + r"|RPC|REDIS|BROKER|LOCATION|DATABASE_URL|_DSN|WEBHOOK",
        flags=re.I,
    )
