from django.urls import path

from chain import views_health

urlpatterns = [
    path("health/", views_health.health, name="health"),
]
