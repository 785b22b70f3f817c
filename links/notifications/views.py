"""Dashboard pages for webhook endpoints and the "email this link" action. Thin: parse,
call one service, render or redirect. Only the signed-in merchant's projects; another
merchant's endpoint, event or link is a 404, exactly like one that does not exist."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from links import selectors
from links.notifications import emails, webhooks
from links.notifications.forms import WebhookEndpointForm
from links.notifications.models import EVENT_TYPES, OutboundEmail, WebhookDelivery, WebhookEndpoint, WebhookEvent
from members.selectors import projects_for_user

DELIVERIES_SHOWN = 50
EVENTS_SHOWN = 30


def _endpoint_for_user(user, code: str) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.filter(project__owners=user).select_related("project"), code=code)


@login_required
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    projects = list(projects_for_user(request.user).prefetch_related("webhook_endpoints"))
    form = WebhookEndpointForm(projects=projects)
    return render(request, "links/webhooks.html", {"projects": projects, "form": form, "event_types": EVENT_TYPES})


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest) -> HttpResponse:
    projects = list(projects_for_user(request.user))
    form = WebhookEndpointForm(request.POST or None, projects=projects)
    if request.method == "POST" and form.is_valid():
        project = next(p for p in projects if p.pk == form.cleaned_data["project"])
        try:
            endpoint = webhooks.endpoint_create(project=project, url=form.cleaned_data["url"], events=form.cleaned_data["events"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            # The secret is in this response only: never stored in the session or a message.
            return render(
                request, "links/webhooks_secret.html", {"endpoint": endpoint, "secret": endpoint.secret, "created": True}
            )
    return render(
        request, "links/webhooks_new.html", {"form": form, "has_projects": bool(projects)}, status=400 if form.errors else 200
    )


@login_required
@require_GET
def endpoint_detail(request: HttpRequest, code: str) -> HttpResponse:
    endpoint = _endpoint_for_user(request.user, code)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-id")[:DELIVERIES_SHOWN]
    )
    events = WebhookEvent.objects.filter(project=endpoint.project).select_related("link").order_by("-created_at")[:EVENTS_SHOWN]
    return render(
        request,
        "links/webhooks_detail.html",
        {"endpoint": endpoint, "deliveries": deliveries, "events": events, "event_types": EVENT_TYPES},
    )


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, code: str) -> HttpResponse:
    endpoint = webhooks.endpoint_rotate_secret(endpoint=_endpoint_for_user(request.user, code))
    return render(request, "links/webhooks_secret.html", {"endpoint": endpoint, "secret": endpoint.secret, "created": False})


@login_required
@require_POST
def endpoint_toggle(request: HttpRequest, code: str) -> HttpResponse:
    endpoint = _endpoint_for_user(request.user, code)
    endpoint = webhooks.endpoint_set_active(endpoint=endpoint, active=not endpoint.is_active)
    messages.success(request, f"Endpoint {'switched on' if endpoint.is_active else 'paused: no new events are sent'}.")
    return redirect("webhooks:detail", code=endpoint.code)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, code: str) -> HttpResponse:
    endpoint = _endpoint_for_user(request.user, code)
    url = endpoint.url
    webhooks.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {url} deleted.")
    return redirect("webhooks:list")


@login_required
@require_POST
def endpoint_test(request: HttpRequest, code: str) -> HttpResponse:
    endpoint = _endpoint_for_user(request.user, code)
    webhooks.send_test_event(endpoint=endpoint)
    messages.success(request, "Test event sent. Its attempt shows in the delivery log below.")
    return redirect("webhooks:detail", code=endpoint.code)


@login_required
@require_POST
def event_redeliver(request: HttpRequest, code: str, event_id: str) -> HttpResponse:
    endpoint = _endpoint_for_user(request.user, code)
    event = get_object_or_404(WebhookEvent, pk=event_id, project=endpoint.project)
    webhooks.event_redeliver(event=event, endpoint=endpoint)
    messages.success(request, f"Event {event.id} ({event.type}) sent again. The attempt shows in the delivery log.")
    return redirect("webhooks:detail", code=endpoint.code)


@login_required
@require_POST
def link_email(request: HttpRequest, code: str) -> HttpResponse:
    """Email the payment link to its member. POST from the link page; goes back to `next`
    (same host only) or to the link page."""
    link = selectors.link_for_user(request.user, code)
    try:
        emails.link_email_to_member(link=link)
    except (emails.EmailDisabled, emails.LinkNotOpen) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The payment link is on its way to {link.member.email}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("links:detail", code=link.code)


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
