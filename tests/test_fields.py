"""On-chain amounts survive the database exactly, on PostgreSQL and on the SQLite default."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from chain.models import Deposit, DepositAddress, Wallet
from payram.lib.fields import MAX_UINT256, BaseUnitsField


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1, 10**17 + 1, 2**64 + 123_456_789, 123456789012345678901234567890, MAX_UINT256])
def test_a_deposit_value_reads_back_to_the_last_unit(project, value):
    wallet = Wallet.objects.create(project=project, family="evm", xpub="xpub-test", script_type="evm")
    address = DepositAddress.objects.create(project=project, wallet=wallet, family="evm", index=0, address="0x" + "ab" * 20)
    Deposit.objects.create(network="devnet", asset="ETH", tx_hash="0x" + "11" * 32, index=0, address=address, value=value)
    stored = Deposit.objects.get().value
    assert stored == Decimal(value)
    assert int(stored) == value


@pytest.mark.parametrize("bad", ["1.5", "-1", "abc", str(2**256), "NaN"])
def test_fractions_negatives_and_overflows_are_refused(bad):
    with pytest.raises(ValidationError):
        BaseUnitsField().to_python(bad)
