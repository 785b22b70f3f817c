"""What members tells the rest of payram. members imports nothing of its listeners:
links/notifications/ connects here in its AppConfig.ready() (the email outbox)."""

from django.dispatch import Signal

# An owner invited someone to a project's team: kwargs invitation and url (the accept
# link with its token: it exists only now, the database keeps the token's hash).
# Sent inside the transaction that wrote the invitation.
invitation_created = Signal()
