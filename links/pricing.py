"""Exchange rates for quotes: how much fiat one whole coin is worth.

A small pluggable interface (PriceSource.rate(symbol, fiat) -> Decimal) with:
  coinbase  the public Coinbase spot price  (GET {PAYRAM_COINBASE_URL}/v2/prices/BTC-USD/spot)
  kraken    the public Kraken ticker, last trade (GET {PAYRAM_KRAKEN_URL}/0/public/Ticker?pair=XBTUSD)
  fixed     rates from settings, PAYRAM_FIXED_RATES="BTC=60000,ETH=3000" (USD), or
            "BTC/EUR=55000" for another currency: development, demos and tests
PAYRAM_PRICE_SOURCES names the sources tried, in order ("coinbase,kraken"); the first
that answers wins. Stablecoins (Asset.stable_usd) are 1:1 with USD without asking
anyone. When nobody answers, get_rate raises PriceUnavailable: the pay page says so and
offers stablecoins; an amount is never made up.

Rates are Decimal all the way (JSON numbers are parsed as Decimal, never float).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from django.conf import settings
from django.core.cache import cache

from payram.lib.env import ConfigError

log = logging.getLogger(__name__)

DEFAULT_SOURCES = "coinbase,kraken"
CACHE_SECONDS = 60


class PriceUnavailable(Exception):
    """No configured source could give a rate. The message is safe to show."""


class PriceSource(Protocol):
    name: str

    def rate(self, symbol: str, fiat: str) -> Decimal:
        """Fiat per whole coin; raises PriceUnavailable when it cannot answer."""


@dataclass(frozen=True)
class Price:
    rate: Decimal
    source: str


def _setting(name: str, default: str) -> str:
    return getattr(settings, name, None) or default


def _positive(raw: object, where: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise PriceUnavailable(f"{where} answered a malformed price {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise PriceUnavailable(f"{where} answered a non-positive price {raw!r}")
    return value


class FixedRates:
    """Rates from configuration: PAYRAM_FIXED_RATES="BTC=60000,ETH=3000,BTC/EUR=55000"."""

    name = "fixed"

    def __init__(self, spec: str | None = None) -> None:
        self.rates = self.parse(_setting("PAYRAM_FIXED_RATES", "") if spec is None else spec)

    @staticmethod
    def parse(spec: str) -> dict[tuple[str, str], Decimal]:
        rates: dict[tuple[str, str], Decimal] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key, sep, value = item.partition("=")
            symbol, _, fiat = key.strip().upper().partition("/")
            try:
                rate = Decimal(value.strip())
            except InvalidOperation:
                rate = Decimal(0)
            if not sep or not symbol or not rate.is_finite() or rate <= 0:
                raise ConfigError(f"PAYRAM_FIXED_RATES: {item!r} should look like BTC=60000 or BTC/EUR=55000")
            rates[(symbol, fiat or "USD")] = rate
        return rates

    def rate(self, symbol: str, fiat: str) -> Decimal:
        try:
            return self.rates[(symbol.upper(), fiat.upper())]
        except KeyError:
            raise PriceUnavailable(f"no fixed rate for {symbol}/{fiat}") from None


def _timeout_setting() -> float:
    raw = _setting("PAYRAM_PRICE_TIMEOUT", "3")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 0.0
    if not 0 < value <= 30:
        raise ConfigError(f"PAYRAM_PRICE_TIMEOUT must be seconds between 0 and 30, not {raw!r}")
    return value


class HttpTicker:
    """A public JSON ticker asked over HTTPS with a short timeout."""

    name = "http"
    default_url = ""

    def __init__(self, base_url: str | None = None, timeout: float | None = None) -> None:
        self.base_url = (base_url or _setting(f"PAYRAM_{self.name.upper()}_URL", self.default_url)).rstrip("/")
        self.timeout = timeout if timeout is not None else _timeout_setting()

    def _get_json(self, path: str) -> object:
        url = self.base_url + path
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "payram"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) from settings)
                body = response.read(1_000_000)
        except urllib.error.HTTPError as exc:
            raise PriceUnavailable(f"{self.name} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PriceUnavailable(f"{self.name} is unreachable ({reason})") from None
        try:
            return json.loads(body, parse_float=Decimal, parse_int=Decimal)
        except ValueError:
            raise PriceUnavailable(f"{self.name} answered something that is not JSON") from None


class Coinbase(HttpTicker):
    """{"data": {"amount": "60123.45", "base": "BTC", "currency": "USD"}}"""

    name = "coinbase"
    default_url = "https://api.coinbase.com"

    def rate(self, symbol: str, fiat: str) -> Decimal:
        pair = urllib.parse.quote(f"{symbol.upper()}-{fiat.upper()}")
        data = self._get_json(f"/v2/prices/{pair}/spot")
        try:
            amount = data["data"]["amount"]
            if str(data["data"].get("currency", fiat)).upper() != fiat.upper():
                raise PriceUnavailable(f"coinbase answered a price in {data['data'].get('currency')}, not {fiat}")
        except (KeyError, TypeError):
            raise PriceUnavailable("coinbase answered without data.amount") from None
        return _positive(amount, "coinbase")


class Kraken(HttpTicker):
    """{"error": [], "result": {"XXBTZUSD": {"c": ["60123.40000", "0.0015"], ...}}}; c = last trade."""

    name = "kraken"
    default_url = "https://api.kraken.com"
    SYMBOLS = {"BTC": "XBT"}

    def rate(self, symbol: str, fiat: str) -> Decimal:
        pair = self.SYMBOLS.get(symbol.upper(), symbol.upper()) + fiat.upper()
        data = self._get_json(f"/0/public/Ticker?pair={urllib.parse.quote(pair)}")
        try:
            if data.get("error"):
                raise PriceUnavailable(f"kraken: {'; '.join(map(str, data['error']))}")
            result = data["result"]
            if len(result) != 1:
                raise PriceUnavailable(f"kraken answered {len(result)} pairs for {pair}")
            (ticker,) = result.values()
            last = ticker["c"][0]
        except (KeyError, TypeError, IndexError, AttributeError):
            raise PriceUnavailable("kraken answered without result.<pair>.c") from None
        return _positive(last, "kraken")


SOURCES: dict[str, type] = {"fixed": FixedRates, "coinbase": Coinbase, "kraken": Kraken}


def check_configuration() -> None:
    """Build the configured sources once, so a malformed PAYRAM_PRICE_SOURCES,
    PAYRAM_FIXED_RATES or PAYRAM_PRICE_TIMEOUT stops start-up with its name instead of
    failing a customer's quote later."""
    configured_sources()


def configured_sources() -> list[PriceSource]:
    names = [n.strip().lower() for n in _setting("PAYRAM_PRICE_SOURCES", DEFAULT_SOURCES).split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise ConfigError(f"PAYRAM_PRICE_SOURCES must list some of {', '.join(SOURCES)}, not {unknown or names!r}")
    return [SOURCES[n]() for n in names]


class FallbackChain:
    """Asks each source in order; the first answer wins."""

    name = "chain"

    def __init__(self, sources: list[PriceSource]) -> None:
        self.sources = sources

    def price(self, symbol: str, fiat: str) -> Price:
        failures = []
        for source in self.sources:
            try:
                return Price(source.rate(symbol, fiat), source.name)
            except PriceUnavailable as exc:
                log.warning("price source %s failed for %s/%s: %s", source.name, symbol, fiat, exc)
                failures.append(str(exc))
        raise PriceUnavailable(f"No exchange rate for {symbol} in {fiat} right now ({'; '.join(failures) or 'no sources'}).")

    def rate(self, symbol: str, fiat: str) -> Decimal:
        return self.price(symbol, fiat).rate


def get_price(asset, fiat: str, *, sources: list[PriceSource] | None = None) -> Price:
    """Fiat per whole `asset` (a chain.catalogue.Asset). Stablecoins are 1:1 with USD;
    other answers are cached for a minute so a busy page does not hammer the tickers."""
    fiat = fiat.upper()
    if asset.stable_usd and fiat == "USD":
        return Price(Decimal(1), "stablecoin 1:1")
    key = f"payram:price:{asset.symbol.upper()}:{fiat}"
    if sources is None:
        cached = cache.get(key)
        if cached:
            return Price(Decimal(cached[0]), cached[1])
    price = FallbackChain(sources if sources is not None else configured_sources()).price(asset.symbol, fiat)
    if sources is None:
        cache.set(key, (str(price.rate), price.source), CACHE_SECONDS)
    return price
