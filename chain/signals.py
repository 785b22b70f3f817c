"""chain records facts; links decides what they mean. The scanner sends this after any
change to deposits or confirmations, with the DepositAddress ids it touched."""

from django.dispatch import Signal

deposits_changed = Signal()  # kwargs: address_ids: set[int]
