"""chain records facts; links decides what they mean. The scanner sends `deposits_changed`
after any change to deposits or confirmations, with the DepositAddress ids it touched.

chain does not know which link an address belongs to (links records that), so when a page
of chain's needs to say how many open links hold a wallet's addresses, it asks with
`wallet_addresses_held`: each receiver answers a count (links: its pending links)."""

from django.dispatch import Signal

deposits_changed = Signal()  # kwargs: address_ids: set[int]
wallet_addresses_held = Signal()  # kwargs: wallet; receivers return an int
