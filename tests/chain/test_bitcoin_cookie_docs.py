"""The cookie-auth instructions in docs/operations.md fit every Bitcoin network: one variable per
network (PAYRAM_RPC_<SLUG>_COOKIE) and the cookie file that network's bitcoind writes
(regtest/, testnet4/, signet/ under the datadir; the datadir itself for mainnet). The
regtest row is checked against a real bitcoind started with cookie auth."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from chain import catalogue
from chain.adapters.bitcoin import BitcoinCoreAdapter
from tests.support.bitcoin_core import _free_port, bitcoind_binary

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def cookie_rows() -> dict[str, str]:
    """variable -> cookie file, from the table in docs/operations.md."""
    return dict(re.findall(r"^\| [^|]+ \| `(PAYRAM_RPC_\w+_COOKIE)` \| `([^`]+)` \|$", OPERATIONS.read_text(), re.M))


def test_the_operations_guide_names_each_bitcoin_networks_cookie_variable_and_file():
    rows = cookie_rows()
    subfolder = {"bitcoin": "", "bitcoin-testnet4": "testnet4/", "bitcoin-signet": "signet/", "bitcoin-regtest": "regtest/"}
    bitcoin_networks = [n for n in catalogue.BUILTIN if n.kind == catalogue.BITCOIN]
    assert {f"{n.rpc_env_var}_COOKIE" for n in bitcoin_networks} == set(rows)
    for net in bitcoin_networks:
        assert rows[f"{net.rpc_env_var}_COOKIE"] == f"~/.bitcoin/{subfolder[net.slug]}.cookie"


@pytest.mark.bitcoind
def test_the_regtest_cookie_path_is_where_bitcoind_writes_it_and_payram_logs_in_with_it(monkeypatch):
    binary = bitcoind_binary()
    if binary is None:
        pytest.skip("set BITCOIND=/path/to/bitcoind to run against a real Bitcoin Core")
    datadir = tempfile.mkdtemp(prefix="payram-cookie-")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "-regtest",
            f"-datadir={datadir}",
            "-server=1",
            "-listen=0",
            f"-rpcport={port}",
            "-rpcbind=127.0.0.1",
            "-rpcallowip=127.0.0.1",
            "-printtoconsole=0",
            "-disablewallet=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cookie = Path(cookie_rows()["PAYRAM_RPC_BITCOIN_REGTEST_COOKIE"].replace("~/.bitcoin", datadir))
        monkeypatch.setenv("PAYRAM_RPC_BITCOIN_REGTEST_COOKIE", str(cookie))
        adapter = BitcoinCoreAdapter(replace(catalogue.get("bitcoin-regtest"), rpc_url=f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 60
        while True:
            try:
                assert adapter.head() == 0
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert cookie.is_file()
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(datadir, ignore_errors=True)
