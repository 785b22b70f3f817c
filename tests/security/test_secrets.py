"""No secret (SECRET_KEY, RPC credentials, Redis and database passwords, a refused private
key, webhook secrets, API keys) reaches the logs, an error page or an error report."""

from __future__ import annotations

import logging
import sys

import pytest
from django.test import Client
from django.views.debug import ExceptionReporter

from chain import catalogue
from tests.security.conftest import MARK

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-" + "Zq8" * 20
RPC_PASSWORD = "rpcHunter2pw"
REDIS_PASSWORD = "redisHunter3pw"
# The BIP32 root private key of the public test mnemonic ("abandon" ×11 "about").
XPRV = "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu"


def _all_log_text(caplog) -> str:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return "\n".join(handler.format(r) for r in caplog.records)


def _reports(caplog) -> str:
    """What an error mail (AdminEmailHandler) or Sentry-like handler would be sent."""
    texts = []
    for record in caplog.records:
        request = getattr(record, "request", None)
        if record.exc_info and request is not None:
            reporter = ExceptionReporter(request, *record.exc_info, is_email=True)
            texts.append(reporter.get_traceback_text())
            texts.append(reporter.get_traceback_html())
    return "\n".join(texts)


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = SECRET_KEY
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    # The cache's LOCATION is the Redis URL in production (LocMem here, under the same name).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": settings.REDIS_URL}}
    settings.ALLOWED_HOSTS = ["testserver"]
    return settings


def test_500_page_and_error_report_hide_secrets(production, caplog, monkeypatch):
    production.ROOT_URLCONF = "tests.security.boom_urls"
    caplog.set_level(logging.INFO)
    client = Client(raise_request_exception=False)
    rpc_url = f"http://rpcuser:{RPC_PASSWORD}@127.0.0.1:8332"
    response = client.get(
        "/boom/", PAYRAM_RPC_BITCOIN=rpc_url, DATABASE_URL=f"postgres://u:{RPC_PASSWORD}@db/x"
    )  # as runserver's META
    assert response.status_code == 500
    page = response.content.decode()
    report = _reports(caplog)
    assert report, "the failure was logged with the request"
    for text, where in ((page, "500 page"), (_all_log_text(caplog), "logs"), (report, "error report")):
        for secret in (SECRET_KEY, RPC_PASSWORD, REDIS_PASSWORD):
            assert secret not in text, f"{secret} in the {where}"


def test_debug_page_hides_credentials_in_urls(settings, caplog):
    """Even the DEBUG page a developer screenshots: Redis and RPC passwords are hidden."""
    settings.DEBUG = True
    settings.ROOT_URLCONF = "tests.security.boom_urls"
    settings.REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    response = Client(raise_request_exception=False).get("/boom/", PAYRAM_RPC_BITCOIN=f"http://u:{RPC_PASSWORD}@h:1")
    assert response.status_code == 500
    page = response.content.decode()
    assert "something broke" in page  # it is the technical page
    assert REDIS_PASSWORD not in page and RPC_PASSWORD not in page


def test_404_pages_show_no_secret(production, world):
    for url in ("/pay/no-such-code/", "/no/such/page/", f"/payments/{world.link_b.code}x/"):
        client = Client()
        client.force_login(world.merchant_a)
        response = client.get(url)
        assert response.status_code in (302, 404)
        assert SECRET_KEY not in response.content.decode()


def test_refused_private_key_is_not_logged_nor_echoed(world, caplog):
    caplog.set_level(logging.DEBUG)
    owner = Client()
    owner.force_login(world.merchant_a)
    response = owner.post(f"/chain/wallets/{world.project_a.pk}/key/bitcoin/", {"xpub": XPRV})
    assert response.status_code == 400
    html = response.content.decode()
    assert XPRV not in html and XPRV[:30] not in html
    assert "private" in html.lower()  # the merchant is told why
    assert XPRV[:30] not in _all_log_text(caplog)


def test_private_key_stays_out_of_the_report_when_saving_fails(world, caplog, monkeypatch, settings):
    from chain import wallets

    settings.DEBUG = False

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(wallets, "wallet_set", broken)
    monkeypatch.setattr("chain.forms.WalletKeyForm.is_valid", lambda self: setattr(self, "cleaned_data", {"xpub": XPRV}) or True)
    owner = Client(raise_request_exception=False)
    owner.force_login(world.merchant_a)
    caplog.set_level(logging.INFO)
    response = owner.post(f"/chain/wallets/{world.project_a.pk}/key/bitcoin/", {"xpub": XPRV})
    assert response.status_code == 500
    report = _reports(caplog)
    assert report
    assert XPRV not in report and XPRV not in _all_log_text(caplog) and XPRV not in response.content.decode()


def test_rpc_credentials_never_logged_when_the_node_fails(world, caplog, monkeypatch):
    from chain import scanner

    monkeypatch.setenv("PAYRAM_RPC_DEVNET", f"http://rpcuser:{RPC_PASSWORD}@127.0.0.1:1/path")
    catalogue.reload()
    caplog.set_level(logging.DEBUG)
    try:
        scanner.scan_network("devnet")
    except Exception as exc:  # noqa: BLE001 - the node is down: how it is reported is under test
        assert RPC_PASSWORD not in str(exc)
    assert RPC_PASSWORD not in _all_log_text(caplog)
    owner = Client()
    owner.force_login(world.merchant_a)
    assert RPC_PASSWORD not in owner.get("/chain/health/").content.decode()
    catalogue.reload()


def test_webhook_secret_and_api_key_are_not_logged(world, caplog):
    """The world fixture made A's endpoint and key; opening A's pages logs neither."""
    caplog.set_level(logging.DEBUG)
    owner = Client()
    owner.force_login(world.merchant_a)
    for url in ("/webhooks/", f"/members/projects/{world.project_a.pk}/api-keys/", "/payments/"):
        owner.get(url)
    logs = _all_log_text(caplog)
    assert not [s for s in world.secrets if s in logs]
    assert MARK  # (markers are checked per page in test_access)
