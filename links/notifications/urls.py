"""Dashboard pages for webhooks (mounted at /webhooks/), and the "email this link" action."""

from django.urls import path

from links.notifications import views as webhook_views

app_name = "webhooks"
urlpatterns = [
    path("", webhook_views.endpoint_list, name="list"),
    path("links/<str:code>/email/", webhook_views.link_email, name="email_link"),
    path("new/", webhook_views.endpoint_create, name="create"),
    path("<str:code>/", webhook_views.endpoint_detail, name="detail"),
    path("<str:code>/rotate/", webhook_views.endpoint_rotate, name="rotate"),
    path("<str:code>/toggle/", webhook_views.endpoint_toggle, name="toggle"),
    path("<str:code>/delete/", webhook_views.endpoint_delete, name="delete"),
    path("<str:code>/test/", webhook_views.endpoint_test, name="test"),
    path("<str:code>/redeliver/<str:event_id>/", webhook_views.event_redeliver, name="redeliver"),
]
