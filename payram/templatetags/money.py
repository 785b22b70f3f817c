"""Template filters for money; conversion itself lives in payram.lib.money."""

from decimal import Decimal

from django import template
from django.utils import translation

from payram.lib import money

register = template.Library()


@register.filter
def fiat(amount: Decimal | None, currency: str = "USD") -> str:
    """In the active language (the customer's, on /pay/; English elsewhere)."""
    return money.format_fiat_for(amount, currency or "USD", translation.get_language())


@register.filter
def units(value: int | Decimal | None, decimals: int) -> str:
    """{{ deposit.value|units:asset.decimals }} -> '0.0015'"""
    if value is None:
        return ""
    return money.format_units(value, int(decimals))
