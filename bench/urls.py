"""The app's URLs plus /bench/ok, the trivial view the web benchmark divides by: it goes
through the same middleware as every page and does nothing else. Only bench/settings.py
names this module; production's urls (payram/urls.py) have no such page."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from payram.urls import urlpatterns as app_urlpatterns


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/ok", ok, name="bench_ok"), *app_urlpatterns]
