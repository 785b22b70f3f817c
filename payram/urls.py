from django.contrib import admin
from django.urls import include, path

from payram.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("django.contrib.auth.urls")),
    path("pay/", include("links.pay_urls")),  # the public pay page: no login
    path("", include("links.urls")),  # the dashboard: Payments
    path("members/", include("members.urls")),
    path("chain/", include("chain.urls")),
]
