"""The Wallets page as a merchant uses it: paste a key, compare the first addresses,
get a clear refusal for a private key that is never shown back, see the gap warning,
and never see another merchant's project."""

from __future__ import annotations

import logging
import os

import pytest
from django.urls import reverse

from chain import catalogue, wallets
from chain.models import Deposit, Wallet
from tests.chain.test_hd import EVM_XPUB, MNEMONIC, VPUB, ZPRV, ZPUB

pytestmark = pytest.mark.django_db

PAGE = reverse("chain:wallets")


def key_url(project, family: str) -> str:
    return reverse("chain:wallet_key_set", args=[project.pk, family])


def test_login_is_required(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_page_lists_each_family_of_the_merchants_projects(merchant_client, project):
    response = merchant_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Corner Shop" in html
    for label in ("Bitcoin", "Bitcoin regtest", "EVM (Ethereum", "Tron (mainnet"):
        assert label in html
    from chain.catalogue import FAMILIES

    assert html.count("Save key") == len(FAMILIES)  # one card per family, Tron's included


def test_saving_a_key_shows_the_first_three_addresses(merchant_client, project):
    response = merchant_client.post(key_url(project, "bitcoin"), {"xpub": ZPUB}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "key saved" in html
    assert "compare these with your wallet" in html
    for address in (
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
        "bc1qp59yckz4ae5c4efgw2s5wfyvrz0ala7rgvuz8z",
    ):
        assert address in html
    assert "Native SegWit" in html
    assert Wallet.objects.get(project=project, family="bitcoin").xpub == ZPUB


def test_evm_key_shows_checksummed_addresses(merchant_client, project):
    merchant_client.post(key_url(project, "evm"), {"xpub": EVM_XPUB})
    html = merchant_client.get(PAGE).content.decode()
    assert "0x9858EfFD232B4033E47d90003D41EC34EcaEda94" in html


@pytest.mark.parametrize(("secret", "family"), [(ZPRV, "bitcoin"), (MNEMONIC, "evm")])
def test_private_key_is_refused_on_the_field_and_never_echoed_stored_or_logged(merchant_client, project, secret, family, caplog):
    caplog.set_level(logging.DEBUG)
    response = merchant_client.post(key_url(project, family), {"xpub": secret})
    assert response.status_code == 400
    html = response.content.decode()
    assert "payram never needs it" in html
    assert "errorlist" in html
    assert secret not in html
    for fragment in (secret[:24], secret[-12:]):
        assert fragment not in html
    assert not Wallet.objects.exists()
    assert secret not in caplog.text and secret[:24] not in caplog.text


def test_wrong_network_key_gets_a_field_error(merchant_client, project):
    response = merchant_client.post(key_url(project, "bitcoin-regtest"), {"xpub": ZPUB})
    assert response.status_code == 400
    html = response.content.decode()
    assert "mainnet key" in html
    assert ZPUB not in html  # even a public key that was refused is not rendered back
    assert not Wallet.objects.exists()


def test_regtest_key_shows_bcrt1_addresses(merchant_client, project):
    merchant_client.post(key_url(project, "bitcoin-regtest"), {"xpub": VPUB})
    assert "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk" in merchant_client.get(PAGE).content.decode()


def test_csrf_is_enforced(client, merchant, project):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(merchant)
    response = csrf_client.post(key_url(project, "evm"), {"xpub": EVM_XPUB})
    assert response.status_code == 403
    assert not Wallet.objects.exists()


def test_key_form_is_post_only(merchant_client, project):
    assert merchant_client.get(key_url(project, "evm")).status_code == 405


def test_gap_warning_appears_past_20_unused_addresses(merchant_client, project):
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    addresses = [wallets.address_allocate(project=project, family="evm") for _ in range(21)]
    html = merchant_client.get(PAGE).content.decode()
    assert "21 unused addresses in a row" in html
    assert "many wallets stop looking past a gap of 20 unused addresses" in html
    Deposit.objects.create(network="devnet", asset="ETH", tx_hash="0x" + "1" * 64, index=0, address=addresses[0], value=1)
    html = merchant_client.get(PAGE).content.decode()
    assert "many wallets stop looking past a gap of 20" not in html
    assert "The 20 most recent addresses have not been paid yet" in html


def test_other_merchants_projects_are_invisible_and_untouchable(merchant_client, project, other_project):
    wallets.wallet_set(project=other_project, family="evm", xpub=EVM_XPUB)
    html = merchant_client.get(PAGE).content.decode()
    assert "Rival Store" not in html
    assert "0x9858EfFD232B4033E47d90003D41EC34EcaEda94" not in html
    assert merchant_client.get(PAGE, {"project": other_project.pk}).status_code == 404
    assert merchant_client.post(key_url(other_project, "bitcoin"), {"xpub": ZPUB}).status_code == 404
    conf_url = reverse("chain:wallet_confirmations_set", args=[other_project.pk])
    assert merchant_client.post(conf_url, {"base": "1"}).status_code == 404
    assert not Wallet.objects.filter(project=other_project, family="bitcoin").exists()
    other_project.refresh_from_db()
    assert other_project.confirmation_overrides == {}


def test_unknown_family_is_404(merchant_client, project):
    assert merchant_client.post(key_url(project, "dogecoin"), {"xpub": ZPUB}).status_code == 404


def test_confirmation_thresholds_show_defaults_and_save(merchant_client, project):
    html = merchant_client.get(PAGE).content.decode()
    assert "Default 12" in html  # Ethereum
    assert "Default 128" in html  # Polygon
    url = reverse("chain:wallet_confirmations_set", args=[project.pk])
    response = merchant_client.post(url, {"base": "40", "ethereum": "", "bitcoin": "6"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.confirmation_overrides == {"base": 40, "bitcoin": 6}
    html = merchant_client.get(PAGE).content.decode()
    assert 'value="40"' in html


def test_confirmation_threshold_below_one_is_a_field_error(merchant_client, project):
    url = reverse("chain:wallet_confirmations_set", args=[project.pk])
    response = merchant_client.post(url, {"base": "0"})
    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()
    project.refresh_from_db()
    assert project.confirmation_overrides == {}


def test_admin_lists_wallets_and_addresses_read_only(client, django_user_model, project):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client.force_login(admin_user)
    wallet = wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    address = wallets.address_allocate(project=project, family="evm")
    assert "xpub6DCoCp" in client.get(reverse("admin:chain_wallet_changelist")).content.decode()
    listing = client.get(reverse("admin:chain_depositaddress_changelist"), {"q": "0x9858"}).content.decode()
    assert address.address in listing
    assert client.get(reverse("admin:chain_wallet_change", args=[wallet.pk])).status_code == 200
    assert client.get(reverse("admin:chain_depositaddress_change", args=[address.pk])).status_code == 200
    assert client.get(reverse("admin:chain_wallet_add")).status_code == 403


def test_a_crash_while_saving_a_key_keeps_the_pasted_value_out_of_error_reports(
    merchant_client, project, settings, caplog, monkeypatch
):
    """If something unexpected fails after a private key was pasted, the 500 log record and
    the error report Django would mail to admins hide the POSTed value and every local variable."""
    from django.views.debug import ExceptionReporter

    settings.DEBUG = False
    merchant_client.raise_request_exception = False

    def explode(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(wallets, "wallet_set", explode)
    caplog.set_level(logging.ERROR, logger="django.request")
    response = merchant_client.post(key_url(project, "bitcoin"), {"xpub": ZPUB})
    assert response.status_code == 500
    record = next(r for r in caplog.records if r.name == "django.request")
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "database went away" in report
    assert ZPUB not in report and ZPUB not in caplog.text


@pytest.mark.django_db
def test_a_stored_key_that_no_longer_parses_is_flagged_not_a_500(merchant_client, project, member):
    """A key changed by hand in the database: the Wallets page says so, and a customer
    picking that family gets a clear refusal instead of an error page."""
    from chain.models import Wallet
    from links.checkout import CheckoutError, quote_create
    from links.models import PaymentLink

    Wallet.objects.create(project=project, family="evm", xpub="xpub-garbage", script_type="evm")
    page = merchant_client.get("/chain/wallets/")
    assert page.status_code == 200
    assert "This stored key cannot derive addresses" in page.content.decode()

    os.environ["PAYRAM_RPC_DEVNET"] = "http://127.0.0.1:9"
    catalogue.reload()
    try:
        link = PaymentLink.objects.create(project=project, member=member, amount="5.00")
        with pytest.raises(CheckoutError, match="cannot take payments on this network"):
            from unittest import mock

            with mock.patch("links.checkout._network_is_healthy", return_value=True):
                quote_create(link=link, network="devnet", asset="USDC")
        assert not link.quotes.exists()
    finally:
        os.environ.pop("PAYRAM_RPC_DEVNET", None)
        catalogue.reload()
