from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Payment links"
