"""The offline helper: a seed phrase on stdin becomes the account public keys and their
first addresses; the phrase is not echoed, stored or logged; a bad checksum is refused."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.chain.test_hd import EVM_XPUB, MNEMONIC, VPUB, XPUB_BIP44, YPUB, ZPUB

ROOT = Path(__file__).resolve().parents[2]


def run(monkeypatch, stdin: str, *args: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("xpub_from_seed", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_prints_every_account_key_and_first_addresses(monkeypatch):
    out = run(monkeypatch, MNEMONIC + "\n")
    for expected in (
        ZPUB,
        YPUB,
        XPUB_BIP44,
        VPUB,
        EVM_XPUB,
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1qp59yckz4ae5c4efgw2s5wfyvrz0ala7rgvuz8z",
        "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf",
        "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA",
        "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl",
        "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk",
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
        "m/84'/0'/0'",
        "m/44'/60'/0'",
    ):
        assert expected in out
    assert "abandon" not in out
    assert "prv" not in out


def test_passphrase_from_the_second_line_changes_the_keys(monkeypatch):
    out = run(monkeypatch, MNEMONIC + "\nTREZOR\n", "--passphrase-from-stdin")
    assert ZPUB not in out
    assert "bc1q" in out and "TREZOR" not in out


def test_bad_checksum_is_refused_without_repeating_the_phrase(monkeypatch):
    wrong = MNEMONIC.replace("about", "abandon")
    with pytest.raises(CommandError, match="checksum") as err:
        run(monkeypatch, wrong + "\n")
    assert "abandon" not in str(err.value)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("abandon abandon", "12, 15, 18, 21 or 24 words"), ("zzzz " * 12, "not in the BIP39"), ("", "No seed phrase")],
)
def test_other_bad_input_is_refused(monkeypatch, phrase, message):
    with pytest.raises(CommandError, match=message):
        run(monkeypatch, phrase + "\n")


def test_it_stores_nothing_logs_nothing_and_runs_without_a_database(tmp_path, caplog):
    """A separate process with no database to open: if the command touched one, it would fail."""
    caplog.set_level(logging.DEBUG)
    env = {
        "DEBUG": "true",
        "PAYRAM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "xpub_from_seed"],
        input=MNEMONIC + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert ZPUB in done.stdout
    assert "abandon" not in done.stdout + done.stderr
    assert "abandon" not in caplog.text
    created = [p for p in (tmp_path / "var").rglob("*") if p.is_file()] if (tmp_path / "var").exists() else []
    assert created == []
