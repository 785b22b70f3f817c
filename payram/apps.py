from django.apps import AppConfig


class PayramConfig(AppConfig):
    """The project package as an app: registers payram's own system checks."""

    name = "payram"
    verbose_name = "payram"

    def ready(self) -> None:
        from payram import checks  # noqa: F401 - registers the checks
