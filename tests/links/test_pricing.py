"""Price sources: the real public tickers' answer formats (served locally: the internet
is not reachable from the tests), the fallback order, stablecoins, and the clear error
when nobody answers."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from chain import catalogue
from links.pricing import Coinbase, FallbackChain, FixedRates, Kraken, PriceUnavailable, configured_sources, get_price
from payram.lib.env import ConfigError

# Real answer shapes, captured from the public APIs.
COINBASE_BTC_USD = {"data": {"amount": "60123.45", "base": "BTC", "currency": "USD"}}
KRAKEN_XBTUSD = {
    "error": [],
    "result": {
        "XXBTZUSD": {
            "a": ["60120.10000", "1", "1.000"],
            "b": ["60120.00000", "2", "2.000"],
            "c": ["60119.90000", "0.00150000"],
            "v": ["1234.5", "2345.6"],
            "p": ["60000.1", "59990.2"],
            "t": [12345, 23456],
            "l": ["59000.0", "58900.0"],
            "h": ["61000.0", "61200.0"],
            "o": "59500.0",
        }
    },
}
KRAKEN_UNKNOWN = {"error": ["EQuery:Unknown asset pair"]}


class Ticker(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}
    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        key = url.path + ("?" + "&".join(f"{k}={v[0]}" for k, v in parse_qs(url.query).items()) if url.query else "")
        self.seen.append(key)
        status, body = self.answers.get(key, (404, b'{"message": "not found"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def ticker():
    Ticker.answers, Ticker.seen = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ticker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Ticker
    server.shutdown()
    server.server_close()


def answer(handler, path: str, payload, status: int = 200) -> None:
    handler.answers[path] = (status, payload if isinstance(payload, bytes) else json.dumps(payload).encode())


def test_coinbase_spot_price_is_parsed_exactly(ticker):
    url, handler = ticker
    answer(handler, "/v2/prices/BTC-USD/spot", COINBASE_BTC_USD)
    assert Coinbase(url).rate("BTC", "USD") == Decimal("60123.45")


def test_kraken_last_trade_is_parsed_and_btc_is_asked_as_xbt(ticker):
    url, handler = ticker
    answer(handler, "/0/public/Ticker?pair=XBTUSD", KRAKEN_XBTUSD)
    assert Kraken(url).rate("BTC", "USD") == Decimal("60119.90000")


@pytest.mark.parametrize(
    "payload, status",
    [
        (b"<html>oops</html>", 200),
        ({"data": {}}, 200),
        ({"data": {"amount": "-1", "currency": "USD"}}, 200),
        ({"data": {"amount": "NaN", "currency": "USD"}}, 200),
        ({"errors": [{"id": "not_found"}]}, 404),
    ],
)
def test_coinbase_bad_answers_are_refused(ticker, payload, status):
    url, handler = ticker
    answer(handler, "/v2/prices/BTC-USD/spot", payload, status)
    with pytest.raises(PriceUnavailable):
        Coinbase(url).rate("BTC", "USD")


def test_kraken_error_is_refused(ticker):
    url, handler = ticker
    answer(handler, "/0/public/Ticker?pair=XBTUSD", KRAKEN_UNKNOWN)
    with pytest.raises(PriceUnavailable, match="Unknown asset pair"):
        Kraken(url).rate("BTC", "USD")


def test_unreachable_source_fails_fast_with_a_reason():
    with pytest.raises(PriceUnavailable, match="unreachable"):
        Coinbase("http://127.0.0.1:9", timeout=1).rate("BTC", "USD")


def test_a_failing_source_falls_back_to_the_next(ticker):
    url, handler = ticker
    answer(handler, "/v2/prices/ETH-USD/spot", {"errors": [{"message": "down"}]}, 503)
    answer(handler, "/0/public/Ticker?pair=ETHUSD", {"error": [], "result": {"XETHZUSD": {"c": ["3001.25", "1"]}}})
    price = FallbackChain([Coinbase(url), Kraken(url)]).price("ETH", "USD")
    assert (price.rate, price.source) == (Decimal("3001.25"), "kraken")
    assert handler.seen == ["/v2/prices/ETH-USD/spot", "/0/public/Ticker?pair=ETHUSD"]


def test_all_sources_failing_is_a_clear_error():
    chain = FallbackChain([Coinbase("http://127.0.0.1:9", timeout=1), FixedRates("ETH=3000")])
    with pytest.raises(PriceUnavailable, match="No exchange rate for BTC in USD"):
        chain.price("BTC", "USD")


def test_stablecoins_are_one_to_one_with_usd_without_asking_anyone(settings):
    settings.PAYRAM_PRICE_SOURCES = "coinbase"
    settings.PAYRAM_COINBASE_URL = "http://127.0.0.1:9"
    usdc = catalogue.get("base").asset("USDC")
    price = get_price(usdc, "USD")
    assert price.rate == Decimal(1)


def test_fixed_rates_from_settings(settings):
    settings.PAYRAM_FIXED_RATES = "BTC=60000, ETH=3000.5, BTC/EUR=55000"
    rates = FixedRates()
    assert rates.rate("btc", "usd") == Decimal(60000)
    assert rates.rate("ETH", "USD") == Decimal("3000.5")
    assert rates.rate("BTC", "EUR") == Decimal(55000)
    with pytest.raises(PriceUnavailable):
        rates.rate("POL", "USD")


@pytest.mark.parametrize("spec", ["BTC", "BTC=abc", "BTC=-1", "=5"])
def test_malformed_fixed_rates_stop_with_a_message(spec):
    with pytest.raises(ConfigError, match="PAYRAM_FIXED_RATES"):
        FixedRates(spec)


def test_configured_order_and_unknown_names(settings):
    settings.PAYRAM_PRICE_SOURCES = "kraken, fixed"
    assert [s.name for s in configured_sources()] == ["kraken", "fixed"]
    settings.PAYRAM_PRICE_SOURCES = "coinbase,guesswork"
    with pytest.raises(ConfigError, match="guesswork"):
        configured_sources()


def test_get_price_uses_the_configured_sources(settings, ticker):
    from django.core.cache import cache

    cache.clear()
    url, handler = ticker
    answer(handler, "/v2/prices/BTC-EUR/spot", {"data": {"amount": "55000.10", "base": "BTC", "currency": "EUR"}})
    settings.PAYRAM_PRICE_SOURCES = "coinbase,fixed"
    settings.PAYRAM_COINBASE_URL = url
    settings.PAYRAM_FIXED_RATES = "BTC/EUR=1"
    price = get_price(catalogue.get("bitcoin").native, "EUR")
    assert (price.rate, price.source) == (Decimal("55000.10"), "coinbase")
    cache.clear()


@pytest.mark.parametrize(
    "name, value", [("PAYRAM_PRICE_TIMEOUT", "soon"), ("PAYRAM_PRICE_TIMEOUT", "0"), ("PAYRAM_FIXED_RATES", "BTC:1")]
)
def test_malformed_settings_stop_start_up_with_their_name(settings, name, value):
    from links.pricing import check_configuration

    settings.PAYRAM_PRICE_SOURCES = "coinbase,fixed"
    setattr(settings, name, value)
    with pytest.raises(ConfigError, match=name):
        check_configuration()
