from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "links.notifications"
    label = "notifications"
    verbose_name = "Notifications (webhooks and email)"

    def ready(self) -> None:
        from links.notifications import receivers  # connects to links.signals (apps are loaded now)

        receivers.connect()
