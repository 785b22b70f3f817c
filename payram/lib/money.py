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


# How a checkout language writes a fiat amount, after CLDR's currency pattern for it:
# (decimal mark, grouping mark, symbol first, the symbols). English (and any language not
# listed) keeps format_fiat's "$1,234.50". Only fiat: coin amounts are always
# format_units' wallet form ("0.0015", dot decimal, no grouping), in every language.
_NBSP, _NNBSP = "\u00a0", "\u202f"
FIAT_STYLES = {
    "es": (",", ".", False, {"USD": "US$", "EUR": "€", "GBP": "GBP"}),
    "pt-br": (",", ".", True, {"USD": "US$", "EUR": "€", "GBP": "£"}),
    "fr": (",", _NNBSP, False, {"USD": "$US", "EUR": "€", "GBP": "£GB"}),
    "tr": (",", ".", True, {"USD": "$", "EUR": "€", "GBP": "£"}),
}


def format_fiat_for(amount: Decimal | None, currency: str, language: str | None) -> str:
    """A fiat amount as `language` writes it: '25,00 US$' (es), 'US$ 25,00' (pt-br),
    '1 234,50 €' (fr), '$25,00' (tr); format_fiat's form for English and the rest."""
    style = FIAT_STYLES.get((language or "").lower())
    if amount is None or style is None:
        return format_fiat(amount, currency)
    decimal_mark, group_mark, symbol_first, symbols = style
    quantized = Decimal(amount).quantize(FIAT_QUANTUM, rounding=ROUND_HALF_UP)
    whole, _, cents = f"{abs(quantized):.2f}".partition(".")
    if len(whole) > 4 or (len(whole) == 4 and language != "es"):  # Spanish groups from 10 000
        whole = f"{int(whole):,}".replace(",", group_mark)
    number = ("-" if quantized < 0 else "") + whole + decimal_mark + cents
    symbol = symbols.get(currency)
    if symbol is None:
        return f"{number}{_NBSP}{currency}"
    if symbol_first:
        return f"{symbol}{_NBSP}{number}" if len(symbol) > 1 or language == "pt-br" else f"{symbol}{number}"
    return f"{number}{_NBSP}{symbol}"
