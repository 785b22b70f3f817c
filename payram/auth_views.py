"""Sign-in with a limit on failed attempts, per client address and per username, so
passwords cannot be guessed at speed. Successful sign-ins are not counted.

Each attempt takes a slot (an atomic increment) before its password is checked and gives
it back when the password was right: however many guesses arrive at once, at most the
limit's count are ever evaluated. The username is keyed as Django's sign-in form reads it
(NFKC, as UsernameField does, then trimmed and lower-cased), so look-alike spellings that
sign in as the same account share its limit."""

from __future__ import annotations

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UsernameField
from django.forms.utils import ErrorDict
from django.http import HttpResponse

from payram.lib import ratelimit

log = logging.getLogger(__name__)


def username_key(raw: str) -> str:
    """The account a typed username signs in as, for the per-username limit."""
    normalised = UsernameField(required=False).to_python(raw or "") or ""
    return normalised.strip().lower()[:150]


def sign_in_limits(request) -> list[tuple[str, str]]:
    return [("login_ip", ratelimit.client_ip(request)), ("login_username", username_key(request.POST.get("username", "")))]


class RateLimitedLoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs) -> HttpResponse:
        reservation = ratelimit.reserve(*sign_in_limits(request))
        verdict = reservation.verdict
        if not verdict.allowed:
            log.warning("sign-in refused by rate limit %s", verdict.limit_name)  # never the username or address
            form = self.get_form()
            # Errors set by hand: reading form.errors would validate the form, and so check
            # the password this refusal is about.
            form._errors, form.cleaned_data = ErrorDict(), {}
            form.add_error(None, f"Too many failed sign-in attempts. Please wait {verdict.retry_after} seconds and try again.")
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:  # signed in (a redirect): this attempt does not count
            reservation.release()
        return response


def admin_login(request, extra_context=None) -> HttpResponse:
    """The admin's sign-in under the same limits: a POST that does not redirect failed."""
    from django.contrib import admin
    from django.utils.html import escape

    if request.method != "POST":
        return admin.site.login(request, extra_context)
    reservation = ratelimit.reserve(*sign_in_limits(request))
    verdict = reservation.verdict
    if not verdict.allowed:
        log.warning("admin sign-in refused by rate limit %s", verdict.limit_name)
        response = HttpResponse(
            "<!doctype html><title>Too many attempts</title><h1>Too many failed sign-in attempts</h1>"
            f"<p>Please wait {escape(verdict.retry_after)} seconds and try again.</p>",
            status=429,
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response
    response = admin.site.login(request, extra_context)
    if response.status_code != 200:  # only the form shown again is a failed attempt
        reservation.release()
    return response
