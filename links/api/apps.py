from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "links.api"
    label = "api"
    verbose_name = "REST API"
