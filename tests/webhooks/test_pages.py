"""The dashboard's webhook pages: secret shown once, rotate, pause, delete, delivery log,
redeliver, test event; only the merchant's own projects."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from links import services
from links.notifications import webhooks
from links.notifications.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.webhooks.conftest import documented_verifier

pytestmark = pytest.mark.django_db


def _secret_on(page: str) -> str:
    return re.search(r'id="webhook-secret"[^>]*value="(whsec_[^"]+)"', page).group(1)


def test_create_shows_the_secret_once(merchant_client, project, receiver):
    assert merchant_client.get(reverse("webhooks:list")).status_code == 200
    response = merchant_client.post(
        reverse("webhooks:create"), {"project": project.pk, "url": receiver.url, "events": ["link.created", "payment.confirmed"]}
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert _secret_on(response.content.decode()) == endpoint.secret
    assert (endpoint.url, endpoint.events, endpoint.is_active) == (receiver.url, ["link.created", "payment.confirmed"], True)
    for page in (reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.code])):
        body = merchant_client.get(page).content.decode()
        assert endpoint.secret not in body
        assert receiver.url in body


def test_form_errors_are_shown_not_saved(merchant_client, project, settings):
    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = False
    response = merchant_client.post(
        reverse("webhooks:create"), {"project": project.pk, "url": "http://10.0.0.7/hook", "events": ["link.created"]}
    )
    assert response.status_code == 400
    assert "will not send webhooks there" in response.content.decode()
    response = merchant_client.post(reverse("webhooks:create"), {"project": project.pk, "url": "https://example.com/hook"})
    assert response.status_code == 400
    assert "Pick at least one event" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotate_shows_a_new_secret_once_and_signs_with_it(merchant_client, endpoint, receiver, committed):
    old = endpoint.secret
    response = merchant_client.post(reverse("webhooks:rotate", args=[endpoint.code]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert _secret_on(response.content.decode()) == endpoint.secret
    with committed():
        merchant_client.post(reverse("webhooks:test", args=[endpoint.code]))
    verify = documented_verifier()
    request = receiver.requests[-1]
    assert verify(endpoint.secret, request.headers["Payram-Signature"], request.body)
    assert not verify(old, request.headers["Payram-Signature"], request.body)


def test_send_test_event_and_see_it_in_the_log(merchant_client, endpoint, receiver, committed):
    with committed():
        response = merchant_client.post(reverse("webhooks:test", args=[endpoint.code]))
    assert response.status_code == 302
    assert receiver.types == ["webhook.test"]
    assert documented_verifier()(endpoint.secret, receiver.requests[0].headers["Payram-Signature"], receiver.requests[0].body)
    page = merchant_client.get(reverse("webhooks:detail", args=[endpoint.code])).content.decode()
    assert "webhook.test" in page and "HTTP 200" in page and receiver.requests[0].event["id"] in page


def test_redeliver_an_event_from_the_dashboard(merchant_client, endpoint, receiver, member, committed):
    with committed():
        services.link_create(project=endpoint.project, member=member, amount=Decimal("5.00"))
    event = WebhookEvent.objects.get(type="link.created")
    page = merchant_client.get(reverse("webhooks:detail", args=[endpoint.code])).content.decode()
    assert reverse("webhooks:redeliver", args=[endpoint.code, event.id]) in page
    with committed():
        response = merchant_client.post(reverse("webhooks:redeliver", args=[endpoint.code, event.id]))
    assert response.status_code == 302
    assert [r.event["id"] for r in receiver.requests] == [event.id, event.id]
    assert receiver.requests[0].body == receiver.requests[1].body
    assert WebhookDelivery.objects.filter(event=event, manual=True).count() == 1


def test_failed_attempt_shows_status_and_response_in_the_log(merchant_client, endpoint, receiver, committed):
    receiver.answers = [503]
    with committed():
        merchant_client.post(reverse("webhooks:test", args=[endpoint.code]))
    page = merchant_client.get(reverse("webhooks:detail", args=[endpoint.code])).content.decode()
    assert "HTTP 503" in page and "receiver says no" in page and "Pending" in page


def test_pause_and_delete(merchant_client, endpoint, receiver, member, committed):
    merchant_client.post(reverse("webhooks:toggle", args=[endpoint.code]))
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    with committed():
        services.link_create(project=endpoint.project, member=member, amount=Decimal("5.00"))
    assert receiver.requests == []
    merchant_client.post(reverse("webhooks:toggle", args=[endpoint.code]))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    response = merchant_client.post(reverse("webhooks:delete", args=[endpoint.code]))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert merchant_client.get(reverse("webhooks:delete", args=[endpoint.code])).status_code in (404, 405)


def test_another_merchants_endpoints_are_not_found(client, other_merchant, endpoint, member, committed):
    with committed():
        link = services.link_create(project=endpoint.project, member=member, amount=Decimal("5.00"))
    event = WebhookEvent.objects.get()
    client.force_login(other_merchant)
    assert endpoint.url not in client.get(reverse("webhooks:list")).content.decode()
    assert client.get(reverse("webhooks:detail", args=[endpoint.code])).status_code == 404
    for name in ("rotate", "toggle", "delete", "test"):
        assert client.post(reverse(f"webhooks:{name}", args=[endpoint.code])).status_code == 404
    assert client.post(reverse("webhooks:redeliver", args=[endpoint.code, event.id])).status_code == 404
    assert client.post(reverse("webhooks:email_link", args=[link.code])).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_an_event_of_another_project_cannot_be_redelivered_to_my_endpoint(merchant_client, endpoint, other_project):
    foreign = WebhookEvent.objects.create(project=other_project, type="link.created", payload={"secret": "theirs"})
    assert merchant_client.post(reverse("webhooks:redeliver", args=[endpoint.code, foreign.id])).status_code == 404


def test_another_merchant_cannot_add_an_endpoint_to_my_project(client, other_merchant, project, receiver):
    client.force_login(other_merchant)
    response = client.post(reverse("webhooks:create"), {"project": project.pk, "url": receiver.url, "events": list(EVENT_TYPES)})
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_pages_need_a_sign_in(client, endpoint):
    for url in (reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.code])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_mutations_are_post_only(merchant_client, endpoint):
    for name in ("rotate", "toggle", "delete", "test"):
        assert merchant_client.get(reverse(f"webhooks:{name}", args=[endpoint.code])).status_code == 405


def test_no_inline_scripts_or_styles(merchant_client, endpoint):
    webhooks.send_test_event(endpoint=endpoint)
    for url in (reverse("webhooks:list"), reverse("webhooks:create"), reverse("webhooks:detail", args=[endpoint.code])):
        page = merchant_client.get(url).content.decode()
        assert " style=" not in page and "<style" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        assert not re.search(r"\son[a-z]+=", page)
