"""What links tells the rest of payram. links imports nothing of its listeners:
links/notifications/ (webhooks, email) connects to these in its AppConfig.ready().

Every signal is sent inside the transaction that made the change, so a listener's rows
(a webhook event, a queued email) commit or roll back with it; a listener that fails
must not undo the change (links.notifications.receivers catches and logs)."""

from django.dispatch import Signal

# The link's derived state changed: kwargs link, old (the persisted fields before:
# status, status_detail, amount_received, ...) and new (the links.status.LinkState).
# Sent by the one writer, links.status.
link_changed = Signal()

# Something was done to the link by a person or the API: kwargs link and action, one of
# "created", "cancelled", "settled".
link_action = Signal()

# A refund moved: kwargs refund and event, one of "refund.requested",
# "refund.address_given", "refund.sent".
refund_changed = Signal()
