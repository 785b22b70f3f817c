"""The link page's email log action: resend a failed email. Only the signed-in
merchant's links; another merchant's link or email is a 404, exactly like one that does
not exist."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from links import emails, selectors
from links.email_models import OutboundEmail


@login_required
@require_POST
def email_resend(request: HttpRequest, code: str, email_id: int) -> HttpResponse:
    link = selectors.link_for_user(request.user, code)
    email = get_object_or_404(OutboundEmail, pk=email_id, link=link)
    try:
        emails.resend(email)
    except (emails.EmailDisabled, emails.NotResendable) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Sending “{email.subject}” again. The email log below shows how it went.")
    return redirect(reverse("links:detail", args=[link.code]) + "#emails")
