"""The networks payram knows and their assets: everything a merchant would otherwise
look up. Built in below; more networks or tokens come from a TOML file named by
PAYRAM_CHAINS_FILE (no code change). A network is enabled by giving it a node RPC URL:
the environment variable PAYRAM_RPC_<SLUG> (slug upper-cased, '-' as '_'), or
`rpc_url` in the chains file.

EVM networks can also watch internal ether transfers (ether a contract sends on, read
from call traces): `internal_transfers`, set by PAYRAM_INTERNAL_TRANSFERS_<SLUG>=true/false
or the chains file; on by default for the devnet only, since the node must answer
debug_traceBlockByNumber, which public RPC providers often refuse.

Chains of one family share derivation and address format and differ only by these
constants (the Bitcart shape): EVM networks share one account xpub and one address per
link; Bitcoin networks have a family per address encoding.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from urllib.parse import urlparse

from django.conf import settings

from chain import tron
from payram.lib.env import ConfigError, parse_bool, redact_url
from payram.lib.money import to_base_units

BITCOIN = "bitcoin"
EVM = "evm"
TRON = "tron"
# Satoshi. Bitcoin Core refuses to create an output worth less ("Transaction amount too
# small"): 546 is its dust threshold for the costliest standard output at the default
# relay fee, so no wallet refuses an amount at or above it, whatever the address type.
BITCOIN_DUST_LIMIT = 546

# family -> what a merchant sees when pasting the key for it
FAMILIES: dict[str, str] = {
    "bitcoin": "Bitcoin",
    "bitcoin-testnet": "Bitcoin testnet (testnet4, signet)",
    "bitcoin-regtest": "Bitcoin regtest",
    "evm": "EVM (Ethereum, Base, Polygon, Arbitrum and other EVM chains)",
    "tron": "Tron (mainnet, Nile and Shasta)",
}


@dataclass(frozen=True)
class Asset:
    symbol: str
    name: str
    decimals: int
    contract: str | None = None  # ERC-20 contract (0x…), TRC-20 contract (T…); None for the native coin
    stable_usd: bool = False  # 1:1 with USD for quoting
    # Not issued by the token's issuer on this network but minted by a bridge against
    # tokens locked elsewhere: only from a chains file, and shown as such to the customer.
    bridged: bool = False
    # Amounts due are rounded up to a multiple of this many base units, a precision a
    # wallet can type and an exchange withdraws; 0 picks the default (step_units).
    step: int = 0

    @property
    def is_native(self) -> bool:
        return self.contract is None

    @property
    def label(self) -> str:
        """What a customer reads: "USDT", or "USDT (bridged)" for a bridged token."""
        return f"{self.symbol} (bridged)" if self.bridged else self.symbol

    @property
    def step_units(self) -> int:
        """The quoting step in base units: 0.01 for USD stablecoins, 0.000001 for an
        18-decimal coin (ETH), else the smallest unit (whole satoshi)."""
        if self.step:
            return self.step
        if self.stable_usd:
            return 10 ** max(self.decimals - 2, 0)
        if self.decimals >= 12:
            return 10 ** (self.decimals - 6)
        return 1


@dataclass(frozen=True)
class Network:
    slug: str
    name: str
    kind: str  # BITCOIN, EVM or TRON
    family: str
    native: Asset
    tokens: tuple[Asset, ...] = ()
    chain_id: int | None = None
    confirmations: int = 1  # default threshold; projects may override
    block_time: float = 12.0  # typical seconds between blocks
    explorer_tx: str = ""  # format string with {txid}
    explorer_address: str = ""  # format string with {address}
    testnet: bool = False
    # EVM: also record ether sent to our addresses by contracts (internal calls), from
    # debug_traceBlockByNumber call traces. The node must allow debug_* methods.
    internal_transfers: bool = False
    rpc_url: str = field(default="", repr=False)  # may carry credentials: never log it, use display_rpc_url
    # Push wake-ups (chain.push): Bitcoin Core's ZMQ endpoint (tcp://host:port) or an EVM
    # node's WebSocket (ws[s]://...). Polling stays the safety net.
    push_url: str = field(default="", repr=False)
    poll_seconds: float | None = None  # PAYRAM_POLL_SECONDS_<SLUG>: overrides the poll interval

    @property
    def assets(self) -> tuple[Asset, ...]:
        return (self.native, *self.tokens)

    def asset(self, symbol: str) -> Asset:
        for a in self.assets:
            if a.symbol == symbol:
                return a
        raise KeyError(f"{self.name} has no asset {symbol}")

    @property
    def enabled(self) -> bool:
        return bool(self.rpc_url)

    @property
    def min_amount(self) -> int:
        """The least a payment on this network may be, in base units: below it a wallet
        refuses to send (Bitcoin's dust limit)."""
        return BITCOIN_DUST_LIMIT if self.kind == BITCOIN else 1

    @property
    def display_rpc_url(self) -> str:
        return redact_url(self.rpc_url)

    @property
    def poll_interval(self) -> float:
        """How often to scan: near the block time, never busier than every 2 s or idler than
        60 s, unless the operator set PAYRAM_POLL_SECONDS_<SLUG> (e.g. longer once push is on)."""
        if self.poll_seconds is not None:
            return self.poll_seconds
        return min(max(self.block_time, 2.0), 60.0)

    @property
    def push_env_var(self) -> str:
        return ("PAYRAM_ZMQ_" if self.kind == BITCOIN else "PAYRAM_WS_") + self.slug.upper().replace("-", "_")

    @property
    def poll_env_var(self) -> str:
        return "PAYRAM_POLL_SECONDS_" + self.slug.upper().replace("-", "_")

    @property
    def display_push_url(self) -> str:
        return redact_url(self.push_url) if self.push_url else ""

    @property
    def coinbase_maturity(self) -> int:
        """Confirmations before a block reward can be spent (Bitcoin consensus: 100); a
        coinbase deposit counts only then, whatever the project's threshold."""
        return 100 if self.kind == BITCOIN else 0

    def tx_url(self, txid: str) -> str:
        return self.explorer_tx.format(txid=txid) if self.explorer_tx else ""

    def address_url(self, address: str) -> str:
        return self.explorer_address.format(address=address) if self.explorer_address else ""

    @property
    def rpc_env_var(self) -> str:
        return "PAYRAM_RPC_" + self.slug.upper().replace("-", "_")

    @property
    def internal_transfers_env_var(self) -> str:
        return "PAYRAM_INTERNAL_TRANSFERS_" + self.slug.upper().replace("-", "_")


def _usdc(contract: str) -> Asset:
    return Asset("USDC", "USD Coin", 6, contract, stable_usd=True)


def _usdt(contract: str) -> Asset:
    return Asset("USDT", "Tether USD", 6, contract, stable_usd=True)


# Built-in tokens are only those their issuer publishes for the network: USDC from
# Circle's list (developers.circle.com, "USDC contract addresses"), USDT from Tether's
# (tether.to, "Supported Protocols"), whose EVM chains are Ethereum, Avalanche, Celo and
# Kava. Tokens a bridge mints on other networks (USDT on Base, Arbitrum and Polygon PoS)
# are not Tether's and are not built in: a merchant who wants one adds it in the chains
# file with `bridged = true`.
BTC = Asset("BTC", "Bitcoin", 8)
ETH = Asset("ETH", "Ether", 18)

# Anvil's first account deploys the devnet token as its first transaction on a fresh
# chain, so its address is deterministic (bin/run and the tests do exactly that).
DEVNET_TOKEN_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

# Tether's USD₮ on Tron (TRC-20), as Tether's supported-protocols page and Tronscan give it.
TRON_USDT_CONTRACT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
# Tron's "chain id" is what java-tron's eth_chainId answers: the last 4 bytes of the
# network's genesis block hash (mainnet 0x2b6653dc, Nile 0xcd8690dc, Shasta 0x94a9059e).
# A block is irreversible once solidified: confirmed by 2/3 of the 27 super
# representatives, 19 blocks.
TRON_SOLIDIFIED_BLOCKS = 19
TRX = Asset("TRX", "Tronix", 6)

BUILTIN: tuple[Network, ...] = (
    Network(
        "bitcoin",
        "Bitcoin",
        BITCOIN,
        "bitcoin",
        BTC,
        confirmations=3,
        block_time=600,
        explorer_tx="https://mempool.space/tx/{txid}",
        explorer_address="https://mempool.space/address/{address}",
    ),
    Network(
        "bitcoin-testnet4",
        "Bitcoin Testnet4",
        BITCOIN,
        "bitcoin-testnet",
        Asset("BTC", "Testnet Bitcoin", 8),
        confirmations=3,
        block_time=600,
        testnet=True,
        explorer_tx="https://mempool.space/testnet4/tx/{txid}",
        explorer_address="https://mempool.space/testnet4/address/{address}",
    ),
    Network(
        "bitcoin-signet",
        "Bitcoin Signet",
        BITCOIN,
        "bitcoin-testnet",
        Asset("BTC", "Signet Bitcoin", 8),
        confirmations=2,
        block_time=600,
        testnet=True,
        explorer_tx="https://mempool.space/signet/tx/{txid}",
        explorer_address="https://mempool.space/signet/address/{address}",
    ),
    Network(
        "bitcoin-regtest",
        "Bitcoin Regtest",
        BITCOIN,
        "bitcoin-regtest",
        Asset("BTC", "Regtest Bitcoin", 8),
        confirmations=2,
        block_time=2,
        testnet=True,
    ),
    Network(
        "ethereum",
        "Ethereum",
        EVM,
        "evm",
        ETH,
        chain_id=1,
        confirmations=12,
        block_time=12,
        tokens=(_usdc("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"), _usdt("0xdAC17F958D2ee523a2206206994597C13D831ec7")),
        explorer_tx="https://etherscan.io/tx/{txid}",
        explorer_address="https://etherscan.io/address/{address}",
    ),
    Network(
        "base",
        "Base",
        EVM,
        "evm",
        ETH,
        chain_id=8453,
        confirmations=20,
        block_time=2,
        tokens=(_usdc("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),),
        explorer_tx="https://basescan.org/tx/{txid}",
        explorer_address="https://basescan.org/address/{address}",
    ),
    Network(
        "polygon",
        "Polygon PoS",
        EVM,
        "evm",
        Asset("POL", "Polygon Ecosystem Token", 18),
        chain_id=137,
        confirmations=128,
        block_time=2,
        tokens=(_usdc("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359"),),
        explorer_tx="https://polygonscan.com/tx/{txid}",
        explorer_address="https://polygonscan.com/address/{address}",
    ),
    Network(
        "arbitrum",
        "Arbitrum One",
        EVM,
        "evm",
        ETH,
        chain_id=42161,
        confirmations=20,
        block_time=0.25,
        tokens=(_usdc("0xaf88d065e77c8cC2239327C5EDb3A432268e5831"),),
        explorer_tx="https://arbiscan.io/tx/{txid}",
        explorer_address="https://arbiscan.io/address/{address}",
    ),
    Network(
        "sepolia",
        "Ethereum Sepolia",
        EVM,
        "evm",
        Asset("ETH", "Sepolia Ether", 18),
        chain_id=11155111,
        confirmations=3,
        block_time=12,
        testnet=True,
        tokens=(_usdc("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"),),
        explorer_tx="https://sepolia.etherscan.io/tx/{txid}",
        explorer_address="https://sepolia.etherscan.io/address/{address}",
    ),
    Network(
        "base-sepolia",
        "Base Sepolia",
        EVM,
        "evm",
        Asset("ETH", "Base Sepolia Ether", 18),
        chain_id=84532,
        confirmations=3,
        block_time=2,
        testnet=True,
        tokens=(_usdc("0x036CbD53842c5426634e7929541eC2318f3dCF7e"),),
        explorer_tx="https://sepolia.basescan.org/tx/{txid}",
        explorer_address="https://sepolia.basescan.org/address/{address}",
    ),
    Network(
        "devnet",
        "Local devnet (anvil)",
        EVM,
        "evm",
        Asset("ETH", "Devnet Ether", 18),
        chain_id=31337,
        confirmations=3,
        block_time=1,
        testnet=True,
        internal_transfers=True,
        tokens=(Asset("USDC", "Devnet USD Coin", 6, DEVNET_TOKEN_ADDRESS, stable_usd=True),),
    ),
    # Tron test networks offer TRX only: no USD₮ contract on Nile or Shasta is Tether's.
    Network(
        "tron",
        "Tron",
        TRON,
        "tron",
        TRX,
        chain_id=0x2B6653DC,
        confirmations=TRON_SOLIDIFIED_BLOCKS,
        block_time=3,
        tokens=(_usdt(TRON_USDT_CONTRACT),),
        explorer_tx="https://tronscan.org/#/transaction/{txid}",
        explorer_address="https://tronscan.org/#/address/{address}",
    ),
    Network(
        "tron-nile",
        "Tron Nile testnet",
        TRON,
        "tron",
        Asset("TRX", "Nile Tronix", 6),
        chain_id=0xCD8690DC,
        confirmations=TRON_SOLIDIFIED_BLOCKS,
        block_time=3,
        testnet=True,
        explorer_tx="https://nile.tronscan.org/#/transaction/{txid}",
        explorer_address="https://nile.tronscan.org/#/address/{address}",
    ),
    Network(
        "tron-shasta",
        "Tron Shasta testnet",
        TRON,
        "tron",
        Asset("TRX", "Shasta Tronix", 6),
        chain_id=0x94A9059E,
        confirmations=TRON_SOLIDIFIED_BLOCKS,
        block_time=3,
        testnet=True,
        explorer_tx="https://shasta.tronscan.org/#/transaction/{txid}",
        explorer_address="https://shasta.tronscan.org/#/address/{address}",
    ),
)


def _check_rpc_url(slug: str, url: str) -> str:
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"RPC URL for network {slug!r} must be http(s)://host[:port][/path], not {redact_url(url)!r}")
    return url


def _asset_from_toml(where: str, raw: dict) -> Asset:
    try:
        decimals = int(raw["decimals"])
        symbol = str(raw["symbol"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"{where}: a token needs symbol and decimals (an integer)") from None
    if not 0 <= decimals <= 36:
        raise ConfigError(f"{where}: decimals must be 0..36, not {decimals}")
    contract = raw.get("contract")
    if contract is not None and not (isinstance(contract, str) and contract.startswith("0x") and len(contract) == 42):
        raise ConfigError(f"{where}: contract must be a 0x-prefixed 20-byte address, not {contract!r}")
    bridged = raw.get("bridged", False)
    if not isinstance(bridged, bool):
        raise ConfigError(f"{where}: bridged must be true or false, not {bridged!r}")
    step = 0
    if raw.get("step") is not None:
        try:
            step = to_base_units(Decimal(str(raw["step"])), decimals)
        except (InvalidOperation, ValueError):
            raise ConfigError(f'{where}: step must be a decimal such as "0.01" with at most {decimals} places') from None
        if step <= 0:
            raise ConfigError(f"{where}: step must be greater than zero")
    return Asset(symbol, str(raw.get("name", symbol)), decimals, contract, bool(raw.get("stable_usd", False)), bridged, step)


def _tron_token_from_toml(where: str, raw: dict) -> Asset:
    """A TRC-20 token: its contract in the T… form Tronscan shows."""
    contract = raw.get("contract")
    if not isinstance(contract, str) or not tron.is_address(contract):
        raise ConfigError(f"{where}: a Tron token's contract must be a T… address, not {contract!r}")
    return replace(_asset_from_toml(where, {**raw, "contract": None}), contract=contract)


def _load_chains_file(path: str, networks: dict[str, Network]) -> dict[str, Network]:
    """[[network]] adds a custom EVM network; [[token]] adds a token to any network;
    [rpc] maps slug -> RPC URL."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"PAYRAM_CHAINS_FILE {path!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"PAYRAM_CHAINS_FILE {path!r} is not valid TOML: {exc}") from None
    for i, raw in enumerate(data.get("network", [])):
        where = f"{path}: network #{i + 1}"
        try:
            slug = str(raw["slug"])
            chain_id = int(raw["chain_id"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{where}: needs slug and chain_id (an integer)") from None
        if slug in networks:
            raise ConfigError(f"{where}: slug {slug!r} is already a network")
        internal = raw.get("internal_transfers", False)
        if not isinstance(internal, bool):
            raise ConfigError(f"{where}: internal_transfers must be true or false, not {internal!r}")
        native = _asset_from_toml(
            where,
            {
                "symbol": raw.get("native_symbol", "ETH"),
                "decimals": raw.get("native_decimals", 18),
                "name": raw.get("native_name", "Ether"),
            },
        )
        networks[slug] = Network(
            slug,
            str(raw.get("name", slug)),
            EVM,
            "evm",
            native,
            chain_id=chain_id,
            confirmations=int(raw.get("confirmations", 12)),
            block_time=float(raw.get("block_time", 12)),
            explorer_tx=str(raw.get("explorer_tx", "")),
            explorer_address=str(raw.get("explorer_address", "")),
            testnet=bool(raw.get("testnet", False)),
            internal_transfers=internal,
        )
    for i, raw in enumerate(data.get("token", [])):
        where = f"{path}: token #{i + 1}"
        slug = raw.get("network")
        if slug not in networks:
            raise ConfigError(f"{where}: unknown network {slug!r}")
        net = networks[slug]
        if net.kind == TRON and raw.get("contract"):
            token = _tron_token_from_toml(where, raw)
        elif net.kind != EVM or not raw.get("contract"):
            raise ConfigError(f"{where}: tokens need an EVM or Tron network and a contract")
        else:
            token = _asset_from_toml(where, raw)
        others = tuple(t for t in net.tokens if t.symbol != token.symbol)
        networks[slug] = replace(net, tokens=(*others, token))
    for slug, url in (data.get("rpc") or {}).items():
        if slug not in networks:
            raise ConfigError(f"{path}: [rpc] names unknown network {slug!r}")
        networks[slug] = replace(networks[slug], rpc_url=_check_rpc_url(slug, str(url)))
    for slug, url in (data.get("push") or {}).items():
        if slug not in networks:
            raise ConfigError(f"{path}: [push] names unknown network {slug!r}")
        networks[slug] = replace(networks[slug], push_url=_check_push_url(networks[slug], str(url), f"{path}: [push] {slug}"))
    return networks


def _check_push_url(net: Network, url: str, where: str) -> str:
    """A ZMQ endpoint for Bitcoin (tcp://host:port), a WebSocket URL for EVM networks."""
    if net.kind not in (BITCOIN, EVM):
        raise ConfigError(f"{where}: push wake-ups are for Bitcoin Core (ZMQ) and EVM nodes (WebSocket), not {net.name}")
    parsed = urlparse(url.strip())
    schemes = ("tcp",) if net.kind == BITCOIN else ("ws", "wss")
    try:
        port = parsed.port
    except ValueError:
        port = None
    if parsed.scheme not in schemes or not parsed.hostname or (net.kind == BITCOIN and not port):
        shape = (
            "tcp://host:port (Bitcoin Core's -zmqpubsequence or -zmqpubhashblock)"
            if net.kind == BITCOIN
            else "ws://host:port or wss://..."
        )
        raise ConfigError(f"{where} must look like {shape}, not {redact_url(url)!r}")
    return url.strip()


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Network], dict[str, str]]:
    """(networks by slug, configuration errors by slug). A bad RPC URL disables only its
    own network; a bad chains file is reported under "*" and the built-ins still load."""
    found: dict[str, Network] = {n.slug: n for n in BUILTIN}
    errors: dict[str, str] = {}
    env = settings.PAYRAM_NETWORK_ENV
    path = settings.PAYRAM_CHAINS_FILE
    if path:
        try:
            found = _load_chains_file(path, dict(found))
        except ConfigError as exc:
            errors["*"] = str(exc)
    for slug, net in list(found.items()):
        url = env.get(net.rpc_env_var, "").strip()
        if url:
            try:
                found[slug] = replace(net, rpc_url=_check_rpc_url(slug, url))
            except ConfigError as exc:
                found[slug] = replace(net, rpc_url="")
                errors[slug] = str(exc)
        push = env.get(net.push_env_var, "").strip() if net.kind in (BITCOIN, EVM) else ""
        if push:
            try:
                found[slug] = replace(found[slug], push_url=_check_push_url(net, push, net.push_env_var))
            except ConfigError as exc:  # a setting the operator meant and got wrong: off, and said why
                found[slug] = replace(found[slug], rpc_url="")
                errors[slug] = "; ".join(filter(None, [errors.get(slug), str(exc)]))
        poll = env.get(net.poll_env_var, "").strip()
        if poll:
            try:
                seconds = float(poll)
                if not 0.5 <= seconds <= 3600:
                    raise ValueError
                found[slug] = replace(found[slug], poll_seconds=seconds)
            except ValueError:
                found[slug] = replace(found[slug], rpc_url="")
                errors[slug] = "; ".join(
                    filter(None, [errors.get(slug), f"{net.poll_env_var} must be seconds between 0.5 and 3600, not {poll!r}"])
                )
        if net.kind == EVM and env.get(net.internal_transfers_env_var, "").strip():
            try:
                found[slug] = replace(
                    found[slug],
                    internal_transfers=parse_bool(net.internal_transfers_env_var, env[net.internal_transfers_env_var]),
                )
            except ConfigError as exc:
                # Scanning without the setting the operator meant could miss payments: off.
                found[slug] = replace(found[slug], rpc_url="")
                errors[slug] = "; ".join(filter(None, [errors.get(slug), str(exc)]))
    return found, errors


def networks() -> dict[str, Network]:
    """All known networks by slug, with their RPC URLs from the environment applied."""
    return _load()[0]


def config_errors() -> dict[str, str]:
    """Configuration problems by network slug ("*": the chains file), safe to show."""
    return dict(_load()[1])


def reload() -> dict[str, Network]:
    """Forget the cached catalogue (tests and config changes)."""
    _load.cache_clear()
    return networks()


def get(slug: str) -> Network:
    try:
        return networks()[slug]
    except KeyError:
        raise KeyError(f"unknown network {slug!r}") from None


def enabled() -> list[Network]:
    return [n for n in networks().values() if n.enabled]


def confirmations_required(project, network: Network | str) -> int:
    """The project's threshold for this network, or the catalogue default."""
    net = get(network) if isinstance(network, str) else network
    override = (project.confirmation_overrides or {}).get(net.slug)
    return int(override) if override else net.confirmations
