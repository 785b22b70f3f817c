from django.urls import path

app_name = "links"
urlpatterns: list = []
