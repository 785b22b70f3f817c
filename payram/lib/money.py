"""The one place where money changes form. On-chain values are integers in base units
(satoshi, wei, token units); fiat is Decimal with a currency code. Never float."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

FIAT_QUANTUM = Decimal("0.01")


def to_base_units(amount: Decimal | str | int, decimals: int) -> int:
    """A whole-coin amount as an exact integer of base units; refuses sub-unit fractions."""
    value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimal places")
    return int(scaled)


def from_base_units(units: int | Decimal, decimals: int) -> Decimal:
    """Base units as a whole-coin Decimal, exact (no rounding, no float)."""
    return Decimal(int(units)).scaleb(-decimals)


def format_units(units: int | Decimal, decimals: int) -> str:
    """Base units as a plain decimal string without exponent or trailing zeros: '0.0015'."""
    value = from_base_units(units, decimals)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def fiat_to_base_units(fiat: Decimal, rate: Decimal, decimals: int) -> int:
    """Fiat amount / rate (fiat per whole coin) in base units, rounded up so a customer
    paying the shown amount never underpays by a unit."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    coins = (Decimal(fiat) / Decimal(rate)).scaleb(decimals)
    return int(coins.to_integral_value(rounding=ROUND_CEILING))


def round_up_to_step(units: int, step: int) -> int:
    """The least multiple of `step` that is >= units."""
    return -(-int(units) // step) * step


def payable_step(step: int, *, rate: Decimal, fiat: Decimal, decimals: int) -> int:
    """The asset's quoting step (base units), made finer where rounding up by it could
    cost the customer more than a cent or 0.1% of the amount, whichever is larger."""
    budget = max(FIAT_QUANTUM, Decimal(fiat) * Decimal("0.001"))
    while step > 1 and from_base_units(step, decimals) * Decimal(rate) > budget:
        step = max(step // 10, 1)
    return step


def fiat_to_payable_units(fiat: Decimal, rate: Decimal, decimals: int, step: int) -> int:
    """fiat_to_base_units rounded up to a payable step (see payable_step): the amount a
    wallet can type, never less than what is due."""
    step = payable_step(step, rate=rate, fiat=fiat, decimals=decimals)
    return round_up_to_step(fiat_to_base_units(fiat, rate, decimals), step)


def base_units_to_fiat(units: int | Decimal, rate: Decimal, decimals: int) -> Decimal:
    return (from_base_units(units, decimals) * Decimal(rate)).quantize(FIAT_QUANTUM, rounding=ROUND_HALF_UP)


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return value


def format_fiat(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None:
        return ""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    quantized = Decimal(amount).quantize(FIAT_QUANTUM, rounding=ROUND_HALF_UP)
    text = f"{quantized:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
