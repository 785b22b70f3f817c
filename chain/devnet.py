"""Driving a local anvil devnet (chain id 31337): deploy the test token, send ether and
tokens from anvil's funded (unlocked) accounts, mine, snapshot and revert. Used by the
tests and by bin/run's demo. Refuses any other chain: nothing here may touch real money.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.types import TxReceipt

from chain.catalogue import DEVNET_TOKEN_ADDRESS

DEVNET_CHAIN_ID = 31337
ARTIFACT = Path(__file__).resolve().parent.parent / "contracts" / "TestUSD.json"
FORWARDER_ARTIFACT = ARTIFACT.with_name("Forwarder.json")
TOKEN_SUPPLY = 10**9 * 10**6  # a billion test dollars, 6 decimals


class DevnetError(Exception):
    pass


@lru_cache(maxsize=1)
def token_artifact() -> dict[str, Any]:
    with open(ARTIFACT) as fh:
        return json.load(fh)


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A Web3 client for the devnet at `rpc_url`, after checking it is chain 31337."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    chain_id = w3.eth.chain_id
    if chain_id != DEVNET_CHAIN_ID:
        raise DevnetError(f"refusing to drive chain id {chain_id}: devnet helpers only run on anvil's {DEVNET_CHAIN_ID}")
    return w3


def _checked(w3: Web3) -> Web3:
    if w3.eth.chain_id != DEVNET_CHAIN_ID:
        raise DevnetError(f"refusing to drive chain id {w3.eth.chain_id}: devnet helpers only run on {DEVNET_CHAIN_ID}")
    return w3


def funded_account(w3: Web3, n: int = 0) -> str:
    return _checked(w3).eth.accounts[n]


def _wait(w3: Web3, tx_hash: bytes) -> TxReceipt:
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    if receipt["status"] != 1:
        raise DevnetError(f"devnet transaction {tx_hash.hex()} reverted")
    return receipt


def deploy_token(w3: Web3) -> str:
    """Deploy TestUSD as account 0's first transaction, so it lands at the catalogue's
    devnet token address. Does nothing if it is already there (bin/run restarts)."""
    _checked(w3)
    if w3.eth.get_code(DEVNET_TOKEN_ADDRESS):
        return DEVNET_TOKEN_ADDRESS
    deployer = w3.eth.accounts[0]
    if w3.eth.get_transaction_count(deployer) != 0:
        raise DevnetError(
            "account 0 has already sent transactions: the token would not land at the devnet address (use a fresh anvil)"
        )
    artifact = token_artifact()
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = _wait(w3, contract.constructor(TOKEN_SUPPLY).transact({"from": deployer}))
    address = to_checksum_address(receipt["contractAddress"])
    if address != DEVNET_TOKEN_ADDRESS:
        raise DevnetError(f"TestUSD landed at {address}, not {DEVNET_TOKEN_ADDRESS}")
    return address


def token(w3: Web3, address: str = DEVNET_TOKEN_ADDRESS):
    return _checked(w3).eth.contract(address=to_checksum_address(address), abi=token_artifact()["abi"])


def send_eth(w3: Web3, to: str, wei: int, *, sender: int = 1) -> str:
    """Send `wei` from anvil account `sender`; returns the tx hash (0x, lower case) once mined."""
    _checked(w3)
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[sender], "to": to_checksum_address(to), "value": int(wei)})
    return "0x" + _wait(w3, tx)["transactionHash"].hex().removeprefix("0x")


def send_token(w3: Web3, to: str, units: int, *, sender: int = 0, address: str = DEVNET_TOKEN_ADDRESS) -> str:
    """Transfer `units` (base units, 6 decimals) of the test token; returns the tx hash once mined."""
    tx = token(w3, address).functions.transfer(to_checksum_address(to), int(units)).transact({"from": w3.eth.accounts[sender]})
    return "0x" + _wait(w3, tx)["transactionHash"].hex().removeprefix("0x")


def token_balance(w3: Web3, owner: str, address: str = DEVNET_TOKEN_ADDRESS) -> int:
    return int(token(w3, address).functions.balanceOf(to_checksum_address(owner)).call())


def mine(w3: Web3, blocks: int = 1) -> int:
    """Mine `blocks` empty blocks; returns the new head."""
    _checked(w3).provider.make_request("anvil_mine", [hex(blocks)])
    return w3.eth.block_number


def set_automine(w3: Web3, enabled: bool) -> None:
    _checked(w3).provider.make_request("evm_setAutomine", [enabled])


def snapshot(w3: Web3) -> str:
    return _checked(w3).provider.make_request("evm_snapshot", [])["result"]


def revert(w3: Web3, snapshot_id: str) -> None:
    answer = _checked(w3).provider.make_request("evm_revert", [snapshot_id])
    if answer.get("result") is not True:
        raise DevnetError(f"evm_revert to {snapshot_id} failed: {answer}")


def raw_transaction(w3: Web3, tx_hash: str) -> str:
    """The signed bytes of a mined transaction, to include it again after a revert."""
    return _checked(w3).provider.make_request("eth_getRawTransactionByHash", [tx_hash])["result"]


@lru_cache(maxsize=1)
def forwarder_artifact() -> dict[str, Any]:
    with open(FORWARDER_ARTIFACT) as fh:
        return json.load(fh)


def deploy_forwarder(w3: Web3, *, sender: int = 8):
    """Deploy a Forwarder (contracts/Forwarder.sol: pays ether on through internal calls)
    from anvil account `sender` (not 0, whose first transaction is the token); returns
    the contract."""
    artifact = forwarder_artifact()
    contract = _checked(w3).eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = _wait(w3, contract.constructor().transact({"from": w3.eth.accounts[sender]}))
    return w3.eth.contract(address=to_checksum_address(receipt["contractAddress"]), abi=artifact["abi"])


def call_forwarder(w3: Web3, call, wei: int, *, sender: int = 1, may_revert: bool = False) -> str:
    """Send `call` (a Forwarder function with its arguments) with `wei` attached; returns
    the tx hash once mined. With `may_revert`, a reverted transaction is mined and
    returned too (the gas is fixed, so no estimate refuses it first)."""
    params = {"from": _checked(w3).eth.accounts[sender], "value": int(wei)}
    if may_revert:
        params["gas"] = 300_000
        tx = call.transact(params)
        receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    else:
        receipt = _wait(w3, call.transact(params))
    return "0x" + receipt["transactionHash"].hex().removeprefix("0x")


def send_raw(w3: Web3, raw: str) -> str:
    tx = _checked(w3).eth.send_raw_transaction(raw)
    return "0x" + _wait(w3, tx)["transactionHash"].hex().removeprefix("0x")
