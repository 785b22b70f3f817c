"""Public pay page routes (no login): /pay/<code> and its fragments."""

from django.urls import path

app_name = "pay"
urlpatterns: list = []
