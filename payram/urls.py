from django.contrib import admin
from django.urls import include, path

from payram.auth_views import RateLimitedLoginView, admin_login
from payram.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", admin_login, name="admin_login"),  # before admin.site.urls: failed attempts are limited
    path("admin/", admin.site.urls),
    path("login/", RateLimitedLoginView.as_view(), name="login"),  # before auth.urls: failed attempts are limited
    path("", include("django.contrib.auth.urls")),
    path("pay/", include("links.pay_urls")),  # the public pay page: no login
    path("", include("links.urls")),  # the dashboard: Payments
    path("members/", include("members.urls")),
    path("chain/", include("chain.urls")),
    path("webhooks/", include("links.webhook_urls")),
    path("api/v1/", include("links.api_urls")),
]
