"""Sign-in with a limit on failed attempts, per client address and per username, so
passwords cannot be guessed at speed. Successful sign-ins are not counted."""

from __future__ import annotations

import logging

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from payram.lib import ratelimit

log = logging.getLogger(__name__)


class RateLimitedLoginView(auth_views.LoginView):
    def _limits(self) -> list[tuple[str, str]]:
        username = (self.request.POST.get("username") or "").strip().lower()[:150]
        return [("login_ip", ratelimit.client_ip(self.request)), ("login_username", username)]

    def post(self, request, *args, **kwargs) -> HttpResponse:
        for name, ident in self._limits():
            verdict = ratelimit.peek(name, ident)
            if not verdict.allowed:
                log.warning("sign-in refused by rate limit %s", name)  # never the username or address
                form = self.get_form()
                form.errors.clear()
                form.add_error(None, f"Too many failed sign-in attempts. Please wait {verdict.retry_after} seconds and try again.")
                response = self.render_to_response(self.get_context_data(form=form), status=429)
                response["Retry-After"] = str(verdict.retry_after)
                return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        for name, ident in self._limits():
            ratelimit.hit(name, ident)
        return super().form_invalid(form)


def admin_login(request, extra_context=None) -> HttpResponse:
    """The admin's sign-in under the same limits: a POST that does not redirect failed."""
    from django.contrib import admin
    from django.utils.html import escape

    limits = RateLimitedLoginView(request=request)._limits() if request.method == "POST" else []
    for name, ident in limits:
        verdict = ratelimit.peek(name, ident)
        if not verdict.allowed:
            log.warning("admin sign-in refused by rate limit %s", name)
            response = HttpResponse(
                "<!doctype html><title>Too many attempts</title><h1>Too many failed sign-in attempts</h1>"
                f"<p>Please wait {escape(verdict.retry_after)} seconds and try again.</p>",
                status=429,
            )
            response["Retry-After"] = str(verdict.retry_after)
            return response
    response = admin.site.login(request, extra_context)
    if limits and response.status_code == 200:
        for name, ident in limits:
            ratelimit.hit(name, ident)
    return response
