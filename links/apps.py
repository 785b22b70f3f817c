from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Payment links"

    def ready(self) -> None:
        # Imported here, not at the top: they import models, which Django allows only
        # once every app is loaded (a cycle of Django's own, not of payram's).
        from links import receivers
        from links.pricing import check_configuration

        receivers.connect()
        check_configuration()
