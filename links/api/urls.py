"""/api/v1/: the REST API (links.api.views), described by /api/v1/openapi.json."""

from django.urls import path

from links.api import views as api

app_name = "api"
urlpatterns = [
    path("openapi.json", api.openapi_view, name="openapi"),
    path("members", api.members_view, name="members"),
    path("links", api.links_view, name="links"),
    path("links/<str:code>", api.link_view, name="link"),
    path("links/<str:code>/cancel", api.link_cancel_view, name="link_cancel"),
    path("links/<str:code>/settle", api.link_settle_view, name="link_settle"),
]
