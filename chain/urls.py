from django.urls import path

app_name = "chain"
urlpatterns: list = []
