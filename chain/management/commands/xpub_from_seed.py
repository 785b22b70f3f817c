"""Turn a BIP39 seed phrase into the account-level extended PUBLIC keys payram needs.

For merchants whose wallet does not show an xpub. Run it on an offline computer:

    python manage.py xpub_from_seed              # type the words, then Enter, then Ctrl-D
    python manage.py xpub_from_seed --passphrase # also asks for the BIP39 passphrase (hidden)
    printf '%s\\n%s\\n' "$WORDS" "$PASSPHRASE" | python manage.py xpub_from_seed --passphrase-from-stdin

It prints, for each account, the extended public key and its first 3 receive addresses:
Bitcoin BIP84 m/84'/0'/0' (zpub), BIP49 m/49'/0'/0' (ypub), BIP44 m/44'/0'/0' (xpub),
the test networks' BIP84 m/84'/1'/0' (vpub, for testnet4/signet and regtest), EVM
m/44'/60'/0' (xpub) and Tron m/44'/195'/0' (xpub). Compare the addresses with your wallet before pasting a key.

It reads the phrase from stdin (never from the command line, where it would land in
the shell history and the process list), does not echo it, opens no database, sends
nothing over the network and writes no logs. The private keys exist only in this
process's memory while it runs.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import importlib.util
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chain import hd

PBKDF2_ROUNDS = 2048


class SeedPhraseError(ValueError):
    """The phrase is not a valid BIP39 mnemonic. The message never contains the words."""


@dataclass(frozen=True)
class Account:
    title: str
    path: str
    version: str  # extended public key prefix to print
    family: str  # chain.catalogue family for the addresses
    note: str = ""


ACCOUNTS: tuple[Account, ...] = (
    Account("Bitcoin, native SegWit (BIP84) — paste into the Bitcoin wallet", "m/84'/0'/0'", "zpub", "bitcoin"),
    Account("Bitcoin, nested SegWit (BIP49)", "m/49'/0'/0'", "ypub", "bitcoin"),
    Account("Bitcoin, legacy (BIP44)", "m/44'/0'/0'", "xpub", "bitcoin"),
    Account("Bitcoin testnet4 / signet, native SegWit (BIP84)", "m/84'/1'/0'", "vpub", "bitcoin-testnet"),
    Account(
        "Bitcoin regtest, native SegWit (BIP84)",
        "m/84'/1'/0'",
        "vpub",
        "bitcoin-regtest",
        note="the same vpub as the test networks; regtest addresses start bcrt1",
    ),
    Account("EVM (Ethereum, Base, Polygon, Arbitrum…) — paste into the EVM wallet", "m/44'/60'/0'", "xpub", "evm"),
    Account("Tron (TronLink, Trust Wallet, Ledger's Tron app) — paste into the Tron wallet", "m/44'/195'/0'", "xpub", "tron"),
)


def _wordlist() -> list[str]:
    # bitcoinlib's own file, found without importing it (its import sets up a database).
    path = Path(importlib.util.find_spec("bitcoinlib").origin).parent / "wordlist" / "english.txt"
    words = path.read_text(encoding="utf-8").split()
    if len(words) != 2048:  # pragma: no cover - a broken install
        raise RuntimeError("the BIP39 English word list is incomplete")
    return words


def normalise_phrase(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKD", text).lower().split())


def mnemonic_check(phrase: str) -> None:
    """Raise SeedPhraseError unless `phrase` is a BIP39 English mnemonic with a valid checksum."""
    words = phrase.split()
    if len(words) not in (12, 15, 18, 21, 24):
        raise SeedPhraseError(f"A BIP39 seed phrase has 12, 15, 18, 21 or 24 words; this one has {len(words)}.")
    index = {w: i for i, w in enumerate(_wordlist())}
    unknown = [n for n, w in enumerate(words, start=1) if w not in index]
    if unknown:
        positions = ", ".join(str(n) for n in unknown)
        raise SeedPhraseError(f"Word {positions} is not in the BIP39 English word list. Check the spelling.")
    bits = "".join(f"{index[w]:011b}" for w in words)
    checksum_bits = len(bits) // 33
    entropy_bits = bits[: len(bits) - checksum_bits]
    entropy = int(entropy_bits, 2).to_bytes(len(entropy_bits) // 8, "big")
    expected = f"{hashlib.sha256(entropy).digest()[0]:08b}"[:checksum_bits]
    if bits[-checksum_bits:] != expected:
        raise SeedPhraseError(
            "That seed phrase's checksum is wrong: a word is mistyped, missing or out of order. Nothing was derived."
        )


def mnemonic_to_seed(phrase: str, passphrase: str = "") -> bytes:
    salt = "mnemonic" + unicodedata.normalize("NFKD", passphrase)
    return hashlib.pbkdf2_hmac("sha512", phrase.encode("utf-8"), salt.encode("utf-8"), PBKDF2_ROUNDS)


@dataclass(frozen=True)
class PrivateNode:
    secret: int
    chain_code: bytes
    depth: int = 0
    parent_fingerprint: bytes = b"\0\0\0\0"
    child_number: int = 0

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateNode:
        digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
        return cls(int.from_bytes(digest[:32], "big"), digest[32:])

    @property
    def public_sec(self) -> bytes:
        return hd.sec_compressed(hd.secp256k1.G * self.secret)

    def child(self, index: int) -> PrivateNode:
        if index >= hd.HARDENED:
            data = b"\0" + self.secret.to_bytes(32, "big")
        else:
            data = self.public_sec
        digest = hmac.new(self.chain_code, data + index.to_bytes(4, "big"), hashlib.sha512).digest()
        secret = (int.from_bytes(digest[:32], "big") + self.secret) % hd.secp256k1.q
        return PrivateNode(secret, digest[32:], self.depth + 1, hd.hash160(self.public_sec)[:4], index)

    def derive(self, path: str) -> PrivateNode:
        node = self
        for part in path.split("/")[1:]:
            hardened = part.endswith(("'", "h"))
            node = node.child(int(part.rstrip("'h")) + (hd.HARDENED if hardened else 0))
        return node

    def extended_public_key(self, prefix: str) -> str:
        payload = (
            hd.VERSION_BY_PREFIX[prefix]
            + bytes([self.depth])
            + self.parent_fingerprint
            + self.child_number.to_bytes(4, "big")
            + self.chain_code
            + self.public_sec
        )
        return hd.b58check_encode(payload)


def account_keys(phrase: str, passphrase: str = "") -> list[tuple[Account, str, list[str]]]:
    """[(account, extended public key, first 3 receive addresses)] for a checked phrase."""
    phrase = normalise_phrase(phrase)
    mnemonic_check(phrase)
    root = PrivateNode.from_seed(mnemonic_to_seed(phrase, passphrase))
    out = []
    for account in ACCOUNTS:
        xpub = root.derive(account.path).extended_public_key(account.version)
        # Round trip through the same parser the server uses: what is printed is what payram will derive.
        key = hd.parse_account_key(xpub, account.family)
        out.append((account, xpub, hd.receive_addresses(key, 0, 3)))
    return out


class Command(BaseCommand):
    help = (
        "OFFLINE helper: read a BIP39 seed phrase from stdin and print the account extended PUBLIC keys "
        "(zpub, ypub, xpub, test vpub, EVM xpub, Tron xpub) with their first 3 addresses. Stores and logs nothing."
    )
    requires_system_checks: list = []  # no database or settings checks: this runs offline
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--passphrase",
            action="store_true",
            help="Ask for the BIP39 passphrase (the optional '25th word') without echoing it.",
        )
        group.add_argument(
            "--passphrase-from-stdin",
            action="store_true",
            help="Read the BIP39 passphrase from the second line of stdin.",
        )

    def handle(self, *args, **options) -> None:
        interactive = sys.stdin.isatty()
        if interactive:
            self.stderr.write(
                "Use this on an offline computer. Type or paste the seed phrase, then Enter.\n"
                "(It is not shown, stored or logged.)"
            )
            phrase = getpass.getpass("Seed phrase: ")
            lines = []
        else:
            lines = sys.stdin.read().splitlines()
            phrase = lines[0] if lines else ""
        if not phrase.strip():
            raise CommandError("No seed phrase on stdin. Pipe it in or type it when asked.")
        passphrase = ""
        if options["passphrase_from_stdin"]:
            if len(lines) < 2 and not interactive:
                raise CommandError("--passphrase-from-stdin needs the passphrase on the second line of stdin.")
            passphrase = lines[1] if len(lines) > 1 else getpass.getpass("BIP39 passphrase: ")
        elif options["passphrase"]:
            passphrase = getpass.getpass("BIP39 passphrase (not shown): ")
        try:
            results = account_keys(phrase, passphrase)
        except SeedPhraseError as exc:
            raise CommandError(str(exc)) from None
        finally:
            del phrase, passphrase, lines
        for account, xpub, addresses in results:
            self.stdout.write(f"\n{account.title}\n  path {account.path}" + (f" ({account.note})" if account.note else ""))
            self.stdout.write(f"  {account.version}: {xpub}")
            for i, address in enumerate(addresses):
                self.stdout.write(f"  receive {i}: {address}")
        self.stdout.write(
            "\nPaste a key into payram's Wallets page and check that payram shows the same 3 addresses as your wallet.\n"
            "A BIP39 passphrase changes every key: if the addresses differ, check it."
        )
