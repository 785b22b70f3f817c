"""Extended public keys and the receive addresses derived from them. Pure: no database,
no network, no logging.

payram only ever sees account-level extended PUBLIC keys (depth 3, e.g. m/84'/0'/0')
and derives receive addresses m/.../0/i with BIP32 public child derivation. Anything
that could spend money (an xprv, a WIF or hex private key, a seed phrase) is refused by
`parse_account_key` with a message that never repeats the value.

BIP32 public derivation, base58check and bech32 (BIP173, witness v0) are implemented
here on top of fastecdsa's secp256k1 rather than through bitcoinlib, because the
version bytes decide the family and address type, and bitcoinlib's regtest version
bytes differ from Bitcoin Core's (Core uses the testnet tpub for regtest too). Taproot
(BIP86) too: bitcoinlib 0.7's p2tr address encodes the untweaked key (for BIP86's first
vector it gives bc1p68utl…, not bc1p5cyxn…), so the BIP341 tweak is done here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from Crypto.Hash import RIPEMD160
from eth_utils import keccak, to_checksum_address
from fastecdsa.curve import secp256k1
from fastecdsa.point import Point

from chain import tron
from chain.base58 import _B58_INDEX, b58check_decode, b58check_encode
from chain.catalogue import FAMILIES

P2PKH = "p2pkh"
P2SH_P2WPKH = "p2sh-p2wpkh"
P2WPKH = "p2wpkh"
P2TR = "p2tr"
EVM_SCRIPT = "evm"
TRON_SCRIPT = "tron"
BITCOIN_SCRIPT_TYPES: dict[str, str] = {
    P2WPKH: "Native SegWit (BIP84)",
    P2SH_P2WPKH: "Nested SegWit (BIP49)",
    P2PKH: "Legacy (BIP44)",
    P2TR: "Taproot (BIP86)",
}
SCRIPT_TYPE_LABELS: dict[str, str] = {
    **BITCOIN_SCRIPT_TYPES,
    EVM_SCRIPT: "EVM account (0x…, m/44'/60'/0')",
    TRON_SCRIPT: "Tron account (T…, m/44'/195'/0')",
}

ACCOUNT_DEPTH = 3
HARDENED = 0x80000000
_N = secp256k1.q
_P = secp256k1.p

PRIVATE_KEY_MESSAGE = (
    "That is a private key — payram never needs it. "
    "Paste the extended PUBLIC key (xpub/zpub/vpub…) instead, and keep the private key offline."
)
SEED_PHRASE_MESSAGE = (
    "That looks like a seed phrase — payram never needs it. "
    "Paste the extended PUBLIC key (xpub/zpub/vpub…) instead. If your wallet cannot show one, "
    "run `manage.py xpub_from_seed` on an offline computer."
)


class KeyRefused(ValueError):
    """The pasted text is not a usable account-level extended public key for the family.

    The message is safe to show and to log: it never contains the pasted value.
    `private` says the value was (or looked like) secret material."""

    def __init__(self, message: str, *, private: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.private = private


@dataclass(frozen=True)
class KeyVersion:
    prefix: str
    private: bool
    testnet: bool
    script_type: str | None  # None: multisig (SLIP-132 capitals), not supported


# BIP32 and SLIP-132 version bytes.
VERSIONS: dict[bytes, KeyVersion] = {
    bytes.fromhex("0488b21e"): KeyVersion("xpub", False, False, P2PKH),
    bytes.fromhex("0488ade4"): KeyVersion("xprv", True, False, P2PKH),
    bytes.fromhex("049d7cb2"): KeyVersion("ypub", False, False, P2SH_P2WPKH),
    bytes.fromhex("049d7878"): KeyVersion("yprv", True, False, P2SH_P2WPKH),
    bytes.fromhex("04b24746"): KeyVersion("zpub", False, False, P2WPKH),
    bytes.fromhex("04b2430c"): KeyVersion("zprv", True, False, P2WPKH),
    bytes.fromhex("0295b43f"): KeyVersion("Ypub", False, False, None),
    bytes.fromhex("0295b005"): KeyVersion("Yprv", True, False, None),
    bytes.fromhex("02aa7ed3"): KeyVersion("Zpub", False, False, None),
    bytes.fromhex("02aa7a99"): KeyVersion("Zprv", True, False, None),
    bytes.fromhex("043587cf"): KeyVersion("tpub", False, True, P2PKH),
    bytes.fromhex("04358394"): KeyVersion("tprv", True, True, P2PKH),
    bytes.fromhex("044a5262"): KeyVersion("upub", False, True, P2SH_P2WPKH),
    bytes.fromhex("044a4e28"): KeyVersion("uprv", True, True, P2SH_P2WPKH),
    bytes.fromhex("045f1cf6"): KeyVersion("vpub", False, True, P2WPKH),
    bytes.fromhex("045f18bc"): KeyVersion("vprv", True, True, P2WPKH),
    bytes.fromhex("024289ef"): KeyVersion("Upub", False, True, None),
    bytes.fromhex("024285b5"): KeyVersion("Uprv", True, True, None),
    bytes.fromhex("02575483"): KeyVersion("Vpub", False, True, None),
    bytes.fromhex("02575048"): KeyVersion("Vprv", True, True, None),
}
VERSION_BY_PREFIX: dict[str, bytes] = {v.prefix: raw for raw, v in VERSIONS.items()}
PRIVATE_PREFIXES = tuple(v.prefix for v in VERSIONS.values() if v.private)


@dataclass(frozen=True)
class FamilyParams:
    evm: bool
    testnet: bool = False
    hrp: str = ""
    p2pkh_version: int = 0
    p2sh_version: int = 0
    tron: bool = False  # Tron accounts: an xpub like EVM's, addresses in base58check T… form

    @property
    def account_path(self) -> str:
        """The BIP44 account whose xpub an account-based family needs."""
        return "m/44'/195'/0'" if self.tron else "m/44'/60'/0'"

    @property
    def key_prefixes(self) -> str:
        if self.evm or self.tron:
            return "xpub"
        return "tpub, upub or vpub" if self.testnet else "xpub, ypub or zpub"


FAMILY_PARAMS: dict[str, FamilyParams] = {
    "bitcoin": FamilyParams(evm=False, testnet=False, hrp="bc", p2pkh_version=0x00, p2sh_version=0x05),
    "bitcoin-testnet": FamilyParams(evm=False, testnet=True, hrp="tb", p2pkh_version=0x6F, p2sh_version=0xC4),
    "bitcoin-regtest": FamilyParams(evm=False, testnet=True, hrp="bcrt", p2pkh_version=0x6F, p2sh_version=0xC4),
    "evm": FamilyParams(evm=True),
    "tron": FamilyParams(evm=False, tron=True),
}


def family_params(family: str) -> FamilyParams:
    try:
        return FAMILY_PARAMS[family]
    except KeyError:
        raise KeyRefused(f"payram does not know the chain family {family!r}.") from None


# ---------------------------------------------------------------- encodings


def hash160(data: bytes) -> bytes:
    sha = hashlib.sha256(data).digest()
    try:
        return hashlib.new("ripemd160", sha).digest()
    except ValueError:  # OpenSSL 3 builds without the legacy provider
        return RIPEMD160.new(sha).digest()


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: bytes, frombits: int, tobits: int) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if bits:
        out.append((acc << (tobits - bits)) & maxv)
    return out


_BECH32M_CONST = 0x2BC830A3


def segwit_address(hrp: str, version: int, program: bytes) -> str:
    """A segwit address: bech32 (BIP173) for witness v0, bech32m (BIP350) for v1+ (Taproot)."""
    data = [version] + _convertbits(program, 8, 5)
    const = 1 if version == 0 else _BECH32M_CONST
    polymod = _bech32_polymod(_bech32_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def segwit_v0_address(hrp: str, program: bytes) -> str:
    """BIP173 bech32 address for a witness v0 program."""
    return segwit_address(hrp, 0, program)


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP340 tagged hash: sha256(sha256(tag) || sha256(tag) || data)."""
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(tag_hash + tag_hash + data).digest()


def taproot_output_key(point: Point) -> bytes:
    """BIP86/BIP341: the x-only output key of a key-path-only Taproot output for the
    internal key `point`: Q = lift_x(P) + int(hash_TapTweak(x(P)))·G, with no script
    tree (the tweak commits to the internal key alone)."""
    internal = point if point.y % 2 == 0 else Point(point.x, _P - point.y, curve=secp256k1)  # lift_x: even y
    x_only = internal.x.to_bytes(32, "big")
    tweak = int.from_bytes(tagged_hash("TapTweak", x_only), "big")
    if tweak >= _N:  # probability below 2**-127
        raise ValueError("this key's Taproot tweak is out of range; use the next index")
    output = internal + secp256k1.G * tweak
    return output.x.to_bytes(32, "big")


# ---------------------------------------------------------------- keys


def _point_from_sec(sec: bytes) -> Point:
    if len(sec) != 33 or sec[0] not in (2, 3):
        raise ValueError("not a compressed public key")
    x = int.from_bytes(sec[1:], "big")
    if x >= _P:
        raise ValueError("x out of range")
    y_sq = (pow(x, 3, _P) + 7) % _P
    y = pow(y_sq, (_P + 1) // 4, _P)
    if y * y % _P != y_sq:
        raise ValueError("not on the curve")
    if (y & 1) != (sec[0] & 1):
        y = _P - y
    return Point(x, y, curve=secp256k1)


def sec_compressed(point: Point) -> bytes:
    return bytes([2 + (point.y & 1)]) + point.x.to_bytes(32, "big")


def _sec_uncompressed_body(point: Point) -> bytes:
    return point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")


@dataclass(frozen=True)
class PublicNode:
    """A BIP32 public node: a point and its chain code."""

    point: Point
    chain_code: bytes

    def child(self, index: int) -> PublicNode:
        if not 0 <= index < HARDENED:
            raise ValueError("public derivation cannot produce hardened children")
        digest = hmac.new(self.chain_code, sec_compressed(self.point) + index.to_bytes(4, "big"), hashlib.sha512).digest()
        tweak = int.from_bytes(digest[:32], "big")
        if tweak >= _N:  # probability below 2**-127; BIP32 says skip to the next index
            raise ValueError(f"index {index} is invalid for this key (BIP32); use the next one")
        point = secp256k1.G * tweak + self.point
        return PublicNode(point, digest[32:])


@dataclass(frozen=True)
class AccountKey:
    """A validated account-level extended public key for one family."""

    family: str
    xpub: str  # as pasted, whitespace removed
    prefix: str  # xpub, zpub, vpub…
    script_type: str  # the address type its prefix stands for (or "evm")
    depth: int
    child_number: int
    node: PublicNode

    @property
    def fingerprint(self) -> str:
        """This key's BIP32 fingerprint (what wallets show as the xfp of the account key)."""
        return hash160(sec_compressed(self.node.point))[:4].hex()


def parse_account_key(text: str, family: str) -> AccountKey:
    """Validate a pasted account-level extended public key for `family`.

    Raises KeyRefused with a message safe to display for garbage, a bad checksum, a key
    for another network or family, a key of the wrong depth, a multisig key, and above
    all any private key or seed phrase."""
    params = family_params(family)
    value = (text or "").strip()
    if not value:
        raise KeyRefused("Paste the account's extended public key.")
    _refuse_secrets(value)
    value = "".join(value.split())  # a key wrapped over lines by a wallet's export or an email
    _refuse_other_things(value, params)
    try:
        raw = b58check_decode(value)
    except ValueError:
        if value[:4] in VERSION_BY_PREFIX:
            raise KeyRefused(
                f"That {value[:4]} has a bad checksum: a character is missing or mistyped. Copy it again from your wallet."
            ) from None
        raise KeyRefused(
            f"That is not an extended public key. Paste the account's {params.key_prefixes} from your wallet."
        ) from None
    if len(raw) != 78:
        raise KeyRefused(f"That is not an extended public key. Paste the account's {params.key_prefixes} from your wallet.")
    version = VERSIONS.get(raw[:4])
    if raw[45] == 0 or (version is not None and version.private):
        raise KeyRefused(PRIVATE_KEY_MESSAGE, private=True)
    if version is None:
        raise KeyRefused(f"That extended key has a version payram does not recognise. Paste the account's {params.key_prefixes}.")
    if version.script_type is None:
        raise KeyRefused(
            f"That is a multisig key ({version.prefix}); payram derives single-signature addresses. "
            f"Paste a single-signature account's {params.key_prefixes}."
        )
    if params.evm or params.tron:
        if version.prefix != "xpub":
            chains = "Tron" if params.tron else "EVM chains"
            raise KeyRefused(f"That is a Bitcoin {version.prefix}. {chains} need the xpub of the account {params.account_path}.")
    elif version.testnet != params.testnet:
        network = "test-network" if version.testnet else "mainnet"
        raise KeyRefused(
            f"That is a {network} key ({version.prefix}); this wallet is for {_family_name(family)} "
            f"and needs a {'test-network' if params.testnet else 'mainnet'} key ({params.key_prefixes})."
        )
    depth = raw[4]
    child_number = int.from_bytes(raw[9:13], "big")
    if depth != ACCOUNT_DEPTH:
        path = params.account_path if (params.evm or params.tron) else "m/84'/0'/0'"
        raise KeyRefused(
            f"That key is at depth {depth}; payram needs the account-level key (depth 3, like {path}). "
            "Export the account's extended public key, not the master key or an address's key."
        )
    try:
        point = _point_from_sec(raw[45:78])
    except ValueError:
        raise KeyRefused("That extended public key does not hold a valid public key. Copy it again from your wallet.") from None
    return AccountKey(
        family=family,
        xpub=value,
        prefix=version.prefix,
        script_type=EVM_SCRIPT if params.evm else TRON_SCRIPT if params.tron else version.script_type,
        depth=depth,
        child_number=child_number,
        node=PublicNode(point, raw[13:45]),
    )


def _family_name(family: str) -> str:
    return FAMILIES.get(family, family)


_WORD = re.compile(r"^[^\W\d_]+$")  # letters only, any script (BIP39 has non-English lists)


def looks_like_seed_phrase(value: str) -> bool:
    """Two or more words of letters (one may be mistyped). Mixed case like "aBcD" is a
    piece of a wrapped base58 key, not a word."""
    words = value.split()
    wordlike = sum(1 for w in words if _WORD.match(w) and (w.islower() or w.isupper() or w.istitle()))
    return len(words) >= 2 and wordlike >= max(2, len(words) - 1)


def _refuse_secrets(value: str) -> None:
    """Refuse anything that is or looks like spending material, before any other check,
    so a mistyped private key still gets the private-key message."""
    if looks_like_seed_phrase(value):
        raise KeyRefused(SEED_PHRASE_MESSAGE, private=True)
    compact = "".join(value.split())
    if compact.startswith(PRIVATE_PREFIXES):
        raise KeyRefused(PRIVATE_KEY_MESSAGE, private=True)
    hex_body = compact[2:] if compact[:2].lower() == "0x" else compact
    if re.fullmatch(r"[0-9a-fA-F]{64}", hex_body):
        raise KeyRefused(PRIVATE_KEY_MESSAGE, private=True)
    if _looks_like_wif(compact):
        raise KeyRefused(PRIVATE_KEY_MESSAGE, private=True)


def _looks_like_wif(value: str) -> bool:
    if not 50 <= len(value) <= 52 or value[0] not in "5KL9c":
        return False
    try:
        payload = b58check_decode(value)
    except ValueError:
        # A mistyped WIF is still a private key; only the shape can tell.
        return len(value) in (51, 52) and all(c in _B58_INDEX for c in value)
    return payload[:1] in (b"\x80", b"\xef") and len(payload) in (33, 34)


def _refuse_other_things(value: str, params: FamilyParams) -> None:
    """Helpful messages for the usual wrong pastes: an address, a single public key."""
    wanted = params.key_prefixes
    if re.fullmatch(r"0x[0-9a-fA-F]{40}|T[1-9A-HJ-NP-Za-km-z]{33}", value):
        raise KeyRefused(f"That is an address, not an extended public key. Paste the account's {wanted}.")
    if re.fullmatch(r"(0x)?0[23][0-9a-fA-F]{64}|(0x)?04[0-9a-fA-F]{128}", value):
        raise KeyRefused(
            f"That is a single public key; payram needs the account's extended public key ({wanted}) to derive a new address per payment."
        )
    if re.fullmatch(r"(bc|tb|bcrt)1[02-9ac-hj-np-z]{8,87}", value.lower()) or (
        re.fullmatch(r"[13mn2][1-9A-HJ-NP-Za-km-z]{25,34}", value) and not value.startswith(tuple(VERSION_BY_PREFIX))
    ):
        raise KeyRefused(f"That is an address, not an extended public key. Paste the account's {wanted}.")


# ---------------------------------------------------------------- addresses


@lru_cache(maxsize=256)
def _receive_branch(xpub: str, family: str) -> PublicNode:
    return parse_account_key(xpub, family).node.child(0)


def address_for_point(point: Point, family: str, script_type: str) -> str:
    params = family_params(family)
    if params.evm:
        return to_checksum_address(keccak(_sec_uncompressed_body(point))[-20:])
    if params.tron:
        return tron.from_public_key(_sec_uncompressed_body(point))
    pubkey_hash = hash160(sec_compressed(point))
    if script_type == P2TR:
        return segwit_address(params.hrp, 1, taproot_output_key(point))
    if script_type == P2WPKH:
        return segwit_v0_address(params.hrp, pubkey_hash)
    if script_type == P2SH_P2WPKH:
        redeem_script = b"\x00\x14" + pubkey_hash
        return b58check_encode(bytes([params.p2sh_version]) + hash160(redeem_script))
    if script_type == P2PKH:
        return b58check_encode(bytes([params.p2pkh_version]) + pubkey_hash)
    raise ValueError(f"unknown script type {script_type!r}")


def receive_address(key: AccountKey, index: int, *, script_type: str | None = None) -> str:
    """The receive address m/.../0/index. `script_type` overrides the prefix's type (Bitcoin only)."""
    node = _receive_branch(key.xpub, key.family).child(index)
    return address_for_point(node.point, key.family, script_type or key.script_type)


def receive_addresses(key: AccountKey, start: int = 0, count: int = 3, *, script_type: str | None = None) -> list[str]:
    return [receive_address(key, i, script_type=script_type) for i in range(start, start + count)]


def derive_address(*, family: str, xpub: str, index: int, script_type: str | None = None) -> str:
    """Convenience for stored wallets: parse (already validated) and derive one address."""
    return receive_address(parse_account_key(xpub, family), index, script_type=script_type)


def shorten(xpub: str, keep: int = 8) -> str:
    """zpub6rFR7y…AGutZYs: enough to recognise a key on a page."""
    return xpub if len(xpub) <= 2 * keep + 1 else f"{xpub[: keep + 2]}…{xpub[-keep:]}"


# ---------------------------------------------------------------- output descriptors
#
# What Bitcoin Core's `listdescriptors` and Sparrow export for a single-signature account:
#   wpkh([d34db33f/84h/1h/0h]tpubDC…/0/*)#checksum     (also pkh, sh(wpkh(…)), tr(…))
#   wpkh([d34db33f/84'/0'/0']xpub6C…/<0;1>/*)#checksum  (receive and change in one, BIP389)
# The descriptor names the address type, so no guess from the key's prefix is needed.

DESCRIPTOR_SCRIPT_TYPES: dict[tuple[str, ...], str] = {
    ("pkh",): P2PKH,
    ("sh", "wpkh"): P2SH_P2WPKH,
    ("wpkh",): P2WPKH,
    ("tr",): P2TR,
}
DESCRIPTOR_FORMS = "wpkh(…), sh(wpkh(…)), pkh(…) or tr(…)"
PRIVATE_DESCRIPTOR_MESSAGE = (
    "That descriptor holds a private key — payram never needs it. "
    "Paste the public descriptor instead (Bitcoin Core: `listdescriptors` without `true`), and keep the private one offline."
)

# BIP380 descriptor checksum.
_DESC_INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
_DESC_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _descsum_polymod(symbols: list[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _DESC_GENERATOR[i] if (top >> i) & 1 else 0
    return chk


def descriptor_checksum(body: str) -> str:
    """The 8-character BIP380 checksum of a descriptor (the text before '#')."""
    symbols: list[int] = []
    groups: list[int] = []
    for c in body:
        v = _DESC_INPUT_CHARSET.find(c)
        if v < 0:
            raise ValueError(f"character {c!r} cannot appear in a descriptor")
        symbols.append(v & 31)
        groups.append(v >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    checksum = _descsum_polymod(symbols + [0] * 8) ^ 1
    return "".join(_BECH32[(checksum >> (5 * (7 - i))) & 31] for i in range(8))


def looks_like_descriptor(text: str) -> bool:
    return bool(re.match(r"^\s*[a-z]+\(", text or ""))


@dataclass(frozen=True)
class AccountDescriptor:
    """A validated single-key descriptor: the account key and the address type it names."""

    key: AccountKey
    script_type: str
    origin: str  # "[fingerprint/84h/1h/0h]" as pasted, or ""


_KEY_EXPRESSION = re.compile(r"^(?P<origin>\[[^\]]*\])?(?P<key>[1-9A-HJ-NP-Za-km-z]+)(?P<path>(?:/[^/]*)*)$")
_ORIGIN = re.compile(r"^\[[0-9a-fA-F]{8}(?:/[0-9]+[h'H]?)*\]$")


def parse_descriptor(text: str, family: str) -> AccountDescriptor:
    """Validate an output descriptor of one account key, as wallets export it.

    Accepts pkh(KEY), sh(wpkh(KEY)), wpkh(KEY) and tr(KEY) (BIP86: key path only), where
    KEY is an account-level extended public key with an optional key origin and the
    receive path /0/* or /<0;1>/*, followed by its BIP380 checksum. Refuses, with a
    message that never repeats the value: private keys inside, a wrong or missing
    checksum, change-only descriptors (/1/*), script trees, multisig and anything else."""
    params = family_params(family)
    value = "".join((text or "").split())
    if params.evm:
        raise KeyRefused("EVM wallets take the xpub of the account m/44'/60'/0', not a Bitcoin descriptor.")
    if re.search(r"[xtyzuvYZUV]prv[1-9A-HJ-NP-Za-km-z]{20,}", value) or any(
        _looks_like_wif(token) for token in re.split(r"[^1-9A-HJ-NP-Za-km-z]", value)
    ):
        raise KeyRefused(PRIVATE_DESCRIPTOR_MESSAGE, private=True)
    body, hash_mark, checksum = value.partition("#")
    if not hash_mark:
        raise KeyRefused(
            "That descriptor has no checksum (the 8 characters after #). Copy the whole descriptor as your wallet exports it."
        )
    try:
        expected = descriptor_checksum(body)
    except ValueError:
        raise KeyRefused("That descriptor contains a character descriptors never use. Copy it again from your wallet.") from None
    if checksum != expected:
        raise KeyRefused(
            "That descriptor's checksum does not match: a character is missing or mistyped. Copy it again from your wallet."
        )
    functions: list[str] = []
    inner = body
    while (m := re.fullmatch(r"([a-z]+)\((.*)\)", inner)) is not None:
        functions.append(m.group(1))
        inner = m.group(2)
    if functions == ["tr"] and "," in inner:
        raise KeyRefused(
            "That Taproot descriptor has a script tree; payram derives key-path-only Taproot addresses (BIP86, tr(KEY))."
        )
    script_type = DESCRIPTOR_SCRIPT_TYPES.get(tuple(functions))
    if script_type is None:
        shown = "(".join(functions) + "(…" + ")" * len(functions) if functions else "that"
        if any(f in ("multi", "sortedmulti", "wsh") for f in functions) or "," in inner:
            raise KeyRefused(
                f"That is a multisig or script descriptor ({shown}); payram derives single-signature addresses: "
                f"{DESCRIPTOR_FORMS}."
            )
        raise KeyRefused(f"payram does not take {shown} descriptors. Paste one of {DESCRIPTOR_FORMS}.")
    m = _KEY_EXPRESSION.fullmatch(inner)
    if m is None:
        raise KeyRefused(
            f"That descriptor does not hold an extended public key. Paste one of {DESCRIPTOR_FORMS} with your account's key."
        )
    origin, path = m.group("origin") or "", m.group("path")
    if origin and not _ORIGIN.fullmatch(origin):
        raise KeyRefused("That descriptor's key origin ([fingerprint/path]) is malformed. Copy it again from your wallet.")
    steps = path.split("/")[1:]
    if steps and steps[-1] in ("*h", "*'", "*H"):
        raise KeyRefused(
            "That descriptor derives hardened addresses (/*h), which need the private key. Export the receive descriptor (/0/*)."
        )
    branch = steps[0] if len(steps) == 2 and steps[1] == "*" else None
    if branch is not None and branch.startswith("<"):
        options = branch[1:-1].split(";") if branch.endswith(">") else []
        branch = options[0] if len(options) >= 2 else None
    if branch == "1":
        raise KeyRefused(
            "That is the change descriptor (/1/*). payram hands out receive addresses (/0/i): paste the receive "
            'descriptor, ending in /0/* (Bitcoin Core: the one with "internal": false).'
        )
    if branch != "0":
        raise KeyRefused("payram needs the account's receive descriptor, ending in /0/* (or /<0;1>/*) after the key.")
    key = parse_account_key(m.group("key"), family)
    return AccountDescriptor(key=key, script_type=script_type, origin=origin)
