"""How short a payment may fall and still count as paid (BTCPay's "consider the invoice
paid if the amount is at most X% short"). links.status asks this; the answer is a number
of base units of the counted asset."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from chain import catalogue


def allowed_shortfall(link, network: str, due: int) -> int:
    """Base units the link's payment may be short of `due`: the project's underpayment
    tolerance (a percentage of the amount due, default 0), and in any case a remainder
    smaller than the least the network carries (a customer could not send it: asking
    for it would leave overpaying as the only way out). Never all of `due`."""

    percent = Decimal(getattr(link.project, "underpayment_tolerance", 0) or 0)
    allowed = int((Decimal(due) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))
    try:
        allowed = max(allowed, catalogue.get(network).min_amount - 1)
    except KeyError:  # a network no longer in the catalogue: the percentage only
        pass
    return max(min(allowed, due - 1), 0)
