from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from members.team_views import invite_accept
from payram.auth_views import RateLimitedLoginView, admin_login
from payram.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", admin_login, name="admin_login"),  # before admin.site.urls: failed attempts are limited
    path("admin/", admin.site.urls),
    path("login/", RateLimitedLoginView.as_view(), name="login"),  # before auth.urls: failed attempts are limited
    # Of django.contrib.auth.urls only sign-out and the signed-in password change: no
    # self-service reset by email (the operator resets: docs/operations.md, docs/guarantees.md#security).
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("invite/<str:token>/", invite_accept, name="invite"),  # a team invitation: no login needed to open it
    path("pay/", include("links.pay_urls")),  # the public pay page: no login
    path("", include("links.urls")),  # the dashboard: Payments
    path("", include("links.notifications.link_urls")),  # a link's email log: resend
    path("members/", include("members.urls")),
    path("chain/", include("chain.urls")),
    path("webhooks/", include("links.notifications.urls")),
    path("api/v1/", include("links.api.urls")),
]
