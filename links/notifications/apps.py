from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "links.notifications"
    label = "notifications"
    verbose_name = "Notifications (webhooks and email)"

    def ready(self) -> None:
        # Imported here, not at the top: receivers import models, which Django allows
        # only once every app is loaded.
        from links.notifications import receivers

        receivers.connect()
