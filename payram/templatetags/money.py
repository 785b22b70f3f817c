"""Template filters for money; conversion itself lives in payram.lib.money."""

from decimal import Decimal

from django import template

from payram.lib import money

register = template.Library()


@register.filter
def fiat(amount: Decimal | None, currency: str = "USD") -> str:
    return money.format_fiat(amount, currency or "USD")


@register.filter
def units(value: int | Decimal | None, decimals: int) -> str:
    """{{ deposit.value|units:asset.decimals }} -> '0.0015'"""
    if value is None:
        return ""
    return money.format_units(value, int(decimals))
