"""Whether this install sends email at all."""

from django.conf import settings


def email_enabled() -> bool:
    """False with Django's dummy backend (no SMTP configured): nothing is queued or shown."""
    return not getattr(settings, "EMAIL_BACKEND", "").endswith("dummy.EmailBackend")
