"""payram's URLs plus one view that fails, for the error-page tests."""

from django.urls import path

from payram.urls import urlpatterns as site


def boom(request):
    raise RuntimeError("something broke")


urlpatterns = [path("boom/", boom), *site]
