"""Security headers Django's own middleware does not set: a Content-Security-Policy that
lets the browser run and style only our own files.

The templates carry no inline script, style attribute or event handler (tests check it
with a real browser), so `'self'` is enough; the admin's pages get the same policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.debug import SafeExceptionReporterFilter

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def content_security_policy(path: str) -> str:
    return getattr(settings, "PAYRAM_CSP", DEFAULT_CSP)


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


class RequestSizeLimitMiddleware:
    """A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, decided from Content-Length
    before anything reads it. The body is read and dropped first (up to DRAIN_LIMIT):
    answering without reading it leaves it in the socket, and closing a socket with
    unread data resets the connection, which a proxy in front still sending the body
    turns into a 502. Past DRAIN_LIMIT the answer says Connection: close without reading
    (the proxy's own limit, client_max_body_size, is meant to stop those first)."""

    DRAIN_LIMIT = 32 * 1024 * 1024
    CHUNK = 64 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        drained = self._drain(request, length) if length <= self.DRAIN_LIMIT else False
        most = f"{limit // 1024} KB" if limit >= 1024 else f"{limit} bytes"
        message = f"Request too large: payram takes bodies of at most {most}."
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"errors": {"non_field_errors": [message]}}, status=413)
        else:
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        if not drained:
            response["Connection"] = "close"
        return response

    def _drain(self, request: HttpRequest, length: int) -> bool:
        stream = request.META.get("wsgi.input")
        if stream is None:
            return False
        left = length
        try:
            while left > 0:
                chunk = stream.read(min(self.CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # the client went away mid-body
            return False
        return left == 0


class RefuseNulBytesMiddleware:
    """A NUL byte in the path, the query string or a form field is never valid input, and
    PostgreSQL refuses it even in a lookup (DataError, a 500). Refuse it up front with a
    400 instead of trusting every view to check: codes in paths, search boxes, filters."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or self._in_form(request):
            message = "Bad request: the address or form contains a NUL character."
            if request.path.startswith("/api/"):  # the API answers in its own error shape
                return JsonResponse({"errors": {"non_field_errors": [message]}}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)

    @staticmethod
    def _in_form(request: HttpRequest) -> bool:
        if request.method != "POST" or request.content_type != "application/x-www-form-urlencoded":
            return False
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.POST.lists())
