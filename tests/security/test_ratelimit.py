"""Rate limits on the public pay page and on sign-in: the client over the limit gets a 429
with a reason and Retry-After; other clients and other links go on as before."""

from __future__ import annotations

import pytest
from django.test import Client

from links.models import Quote
from payram.lib import ratelimit
from tests.links.pay_support import make_link

pytestmark = pytest.mark.django_db


# Windows are fixed and aligned to the clock: an hour long here, so that a test's few
# requests almost never straddle two windows (with 60 s, about one run in a hundred did).
HOUR = 3600


@pytest.fixture
def limits(settings):
    settings.PAYRAM_RATE_LIMITS = {
        "pay_quote_ip": (3, HOUR),
        "pay_quote_link": (5, HOUR),
        "pay_page_ip": (4, HOUR),
        "pay_page_link": (6, HOUR),
        "pay_poll_ip": (40, HOUR),
        "login_ip": (6, HOUR),
        "login_username": (3, HOUR),
    }
    return settings.PAYRAM_RATE_LIMITS


def customer(ip: str, **extra) -> Client:
    return Client(REMOTE_ADDR=ip, **extra)


def pick(client: Client, link, **headers):
    return client.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDC"}, **headers)


def test_quote_creation_over_the_limit_is_429_with_a_reason(world, limits):
    link = world.link_a
    alice = customer("203.0.113.7")
    for _ in range(3):
        assert pick(alice, link).status_code == 302
    quotes = Quote.objects.count()
    refused = pick(alice, link)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= HOUR
    html = refused.content.decode()
    assert "Too many requests" in html and "wait" in html
    assert "<html" in html  # a whole page for a plain form post
    assert Quote.objects.count() == quotes  # nothing written


def test_other_clients_and_other_links_are_unaffected(world, limits, member):
    link = world.link_a
    alice, bob = customer("203.0.113.7"), customer("198.51.100.9")
    for _ in range(3):
        pick(alice, link)
    assert pick(alice, link).status_code == 429
    assert pick(bob, link).status_code == 302  # another client, same link
    assert bob.get(f"/pay/{link.code}/").status_code == 200


def test_one_link_is_limited_across_clients(world, limits):
    """Many addresses hammering one link: the per-link limit holds them all."""
    link, other_link = world.link_a, world.link_b
    answers = [pick(customer(f"192.0.2.{i}"), link).status_code for i in range(7)]
    assert answers[:5] == [302] * 5 and answers[5:] == [429, 429]
    assert "This payment link is getting more requests" in pick(customer("192.0.2.99"), link).content.decode()
    # Another link stays open (it has no wallet: the answer is a form error, not a 429).
    assert pick(customer("192.0.2.100"), other_link).status_code != 429


def _poll(client: Client, link, key: str | None = None):
    url = f"/pay/{link.code}/status/" + (f"?v={key}" if key else "")
    return client.get(url, HTTP_HX_REQUEST="true")


def _state_key(client: Client, link) -> str:
    import re

    html = client.get(f"/pay/{link.code}/").content.decode()
    return re.search(r"/status/\?v=([0-9a-f]+)", html).group(1)


def test_polls_that_answer_nothing_changed_are_not_limited(world, limits):
    link = world.link_a
    alice = customer("203.0.113.7")
    key = _state_key(alice, link)  # one page load of the 4
    assert all(_poll(alice, link, key).status_code == 204 for _ in range(38))  # far past the page budget
    for _ in range(3):  # and the page loads are all still there
        assert alice.get(f"/pay/{link.code}/").status_code == 200


def test_a_changed_poll_counts_as_a_page_load_and_is_a_fragment_for_htmx(world, limits):
    link = world.link_a
    alice = customer("203.0.113.7")
    for _ in range(4):
        assert _poll(alice, link).status_code == 200  # no state key: the fragment is rendered
    refused = _poll(alice, link)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    html = refused.content.decode()
    assert "Too many requests" in html and "<html" not in html
    assert _poll(customer("198.51.100.9"), link).status_code == 200


def test_a_poll_flood_from_one_address_is_stopped(world, limits):
    link = world.link_a
    flood = customer("203.0.113.8")
    key = _state_key(flood, link)
    answers = [_poll(flood, link, key).status_code for _ in range(45)]
    assert answers[:39] == [204] * 39 and 429 in answers[39:]


def test_page_loads_are_limited(world, limits):
    alice = customer("203.0.113.7")
    for _ in range(4):
        assert alice.get(f"/pay/{world.link_a.code}/").status_code == 200
    assert alice.get(f"/pay/{world.link_a.code}/").status_code == 429


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(world, limits, settings):
    settings.PAYRAM_TRUSTED_PROXIES = 0
    url = f"/pay/{world.link_a.code}/"
    for i in range(4):  # a client inventing a new X-Forwarded-For each time is still one client
        assert customer("203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").get(url).status_code == 200
    assert customer("203.0.113.7", HTTP_X_FORWARDED_FOR="10.0.0.99").get(url).status_code == 429


def test_behind_a_trusted_proxy_the_hop_it_added_is_the_client(world, limits, settings):
    settings.PAYRAM_TRUSTED_PROXIES = 1
    url = f"/pay/{world.link_a.code}/"
    proxy = "10.0.0.2"
    for i in range(4):  # whatever the client prepends, the proxy's own hop decides
        assert customer(proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 203.0.113.7").get(url).status_code == 200
    assert customer(proxy, HTTP_X_FORWARDED_FOR="203.0.113.7").get(url).status_code == 429
    assert customer(proxy, HTTP_X_FORWARDED_FOR="198.51.100.9").get(url).status_code == 200


def test_ipv6_clients_are_grouped_by_64(rf, settings):
    settings.PAYRAM_TRUSTED_PROXIES = 0
    a = rf.get("/", REMOTE_ADDR="2001:db8:1:2::1")
    b = rf.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert ratelimit.client_ip(a) == ratelimit.client_ip(b) == "2001:db8:1:2::/64"
    assert ratelimit.client_ip(rf.get("/", REMOTE_ADDR="::ffff:192.0.2.1")) == "192.0.2.1"


def test_limit_zero_turns_it_off(world, settings):
    settings.PAYRAM_RATE_LIMITS = {"pay_page_ip": (0, 60), "pay_page_link": (0, 60)}
    alice = customer("203.0.113.7")
    assert all(alice.get(f"/pay/{world.link_a.code}/").status_code == 200 for _ in range(10))


def test_parse_limits():
    assert ratelimit.parse_limits("pay_quote_ip=5/30, login_ip=0/60") == {"pay_quote_ip": (5, 30), "login_ip": (0, 60)}
    for bad in ("pay_quote_ip=5", "nope=1/1", "pay_quote_ip=x/60", "pay_quote_ip=5/0"):
        with pytest.raises(ValueError):
            ratelimit.parse_limits(bad)


def test_a_broken_cache_lets_customers_pay(world, limits, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "add", down)
    assert customer("203.0.113.7").get(f"/pay/{world.link_a.code}/").status_code == 200


# Sign-in


def test_password_guessing_is_limited_per_username(merchant, limits):
    guesser = customer("203.0.113.50")
    for i in range(3):
        response = guesser.post("/login/", {"username": "merchant", "password": f"guess-{i}"})
        assert response.status_code == 200
    refused = guesser.post("/login/", {"username": "merchant", "password": "guess-9"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Too many failed sign-in attempts" in refused.content.decode()
    # From elsewhere too: the username is what is being guessed.
    assert customer("198.51.100.1").post("/login/", {"username": "merchant", "password": "x"}).status_code == 429


def test_right_password_after_the_limit_is_still_refused_and_success_is_not_counted(merchant, password, limits):
    c = customer("203.0.113.51")
    for _ in range(5):  # successful sign-ins count nothing
        assert c.post("/login/", {"username": "merchant", "password": password}).status_code == 302
        c.logout()
    for i in range(3):
        c.post("/login/", {"username": "merchant", "password": f"nope-{i}"})
    assert c.post("/login/", {"username": "merchant", "password": password}).status_code == 429


def test_password_guessing_is_limited_per_address(db, limits):
    sprayer = customer("203.0.113.52")
    for i in range(6):
        assert sprayer.post("/login/", {"username": f"user{i}", "password": "Winter2026!"}).status_code == 200
    assert sprayer.post("/login/", {"username": "user99", "password": "Winter2026!"}).status_code == 429
    assert customer("198.51.100.2").post("/login/", {"username": "user99", "password": "x"}).status_code == 200


def test_admin_sign_in_is_limited_too(merchant, limits):
    guesser = customer("203.0.113.53")
    for i in range(3):
        assert guesser.post("/admin/login/", {"username": "merchant", "password": f"g{i}"}).status_code == 200
    refused = guesser.post("/admin/login/", {"username": "merchant", "password": "g9"})
    assert refused.status_code == 429 and "Retry-After" in refused


LOOK_ALIKES = ["ｍerchant", "𝐦erchant", "merchanｔ", "MERCHANT", " merchant ", "ᵐerchant", "ｍｅｒｃｈａｎｔ"]


def test_look_alike_usernames_share_the_limit(merchant, password, limits):
    """Django's sign-in form reads a username with NFKC: 'ｍerchant' signs in as 'merchant',
    so it is the same limit, not a fresh one."""
    from django.contrib.auth.forms import UsernameField

    assert all(UsernameField().to_python(v).strip().lower() == "merchant" for v in LOOK_ALIKES)
    guesser = customer("203.0.113.60")
    for i in range(3):
        assert guesser.post("/login/", {"username": "merchant", "password": f"guess-{i}"}).status_code == 200
    for spelling in LOOK_ALIKES:
        elsewhere = customer("198.51.100.60")  # another address: only the username limit applies
        assert elsewhere.post("/login/", {"username": spelling, "password": "guess"}).status_code == 429, spelling
        assert elsewhere.post("/login/", {"username": spelling, "password": password}).status_code == 429, spelling
        assert elsewhere.post("/admin/login/", {"username": spelling, "password": password}).status_code == 429, spelling


def test_look_alike_guesses_count_against_the_account(merchant, password, limits):
    for i, spelling in enumerate(LOOK_ALIKES[:3]):
        assert customer(f"198.51.100.{70 + i}").post("/login/", {"username": spelling, "password": "nope"}).status_code == 200
    assert customer("198.51.100.80").post("/login/", {"username": "merchant", "password": password}).status_code == 429


def test_a_successful_sign_in_gives_its_slot_back(merchant, password, limits):
    c = customer("203.0.113.61")
    for _ in range(2):
        c.post("/login/", {"username": "merchant", "password": "nope"})
    for _ in range(3):  # right passwords between wrong ones do not use up the limit
        assert c.post("/login/", {"username": "merchant", "password": password}).status_code == 302
        c.logout()
    assert c.post("/login/", {"username": "merchant", "password": "nope"}).status_code == 200
    assert c.post("/login/", {"username": "merchant", "password": "nope"}).status_code == 429


# Customers behind one address, with the limits payram ships


def test_a_hundred_customers_behind_one_address_are_never_limited(world, settings):
    """A carrier-grade NAT, an office, a hotel: a hundred customers on one address, each
    opening their link, picking a coin and coming back to the page, all polling for a
    minute (every 3 s); and a link shared out and opened from 15 addresses. Nobody sees
    a 429."""
    settings.PAYRAM_RATE_LIMITS = {}
    links = [world.link_a] + [make_link(world.project_a, world.member_a, description=f"order {i}") for i in range(99)]
    nat = "198.51.100.200"
    answers = []
    for link in links:
        phone = customer(nat)
        answers += [phone.get(f"/pay/{link.code}/").status_code, pick(phone, link).status_code]
    # A minute of everyone's polling (100 pages x 20 polls), counted as the requests would
    # count it, then more real polls and page loads from the same address.
    for _ in range(100 * 20):
        assert ratelimit.hit("pay_poll_ip", nat).allowed
    for link in links[:10]:
        phone = customer(nat)
        key = _state_key(phone, link)
        answers += [_poll(phone, link, key).status_code for _ in range(5)]
    shared = world.link_b
    for i in range(15):
        visitor = customer(f"192.0.2.{i + 1}")
        key = _state_key(visitor, shared)
        answers += [_poll(visitor, shared, key).status_code for _ in range(5)]
    assert 429 not in answers, f"{answers.count(429)} of {len(answers)} requests refused"
    assert set(answers) <= {200, 204, 302}, set(answers)


def test_the_docs_state_the_limits_payram_ships():
    import re
    from pathlib import Path

    guarantees = (Path(__file__).resolve().parents[2] / "docs" / "guarantees.md").read_text()
    stated = dict(re.findall(r"^ *\| `(\w+)` \| ([^|]+?) \|", guarantees, flags=re.M))
    for name, (count, seconds) in ratelimit.DEFAULT_LIMITS.items():
        assert name in stated, f"docs/guarantees.md's rate-limit table lacks {name}"
        if count:
            assert stated[name].startswith(f"{count} per {seconds} s"), (name, stated[name])
        else:
            assert stated[name].startswith("off"), (name, stated[name])
