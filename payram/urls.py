from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django.contrib.auth.urls")),
    path("", include("links.urls")),
    path("members/", include("members.urls")),
    path("chain/", include("chain.urls")),
]
