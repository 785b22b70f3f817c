"""Wallet services: store a project's extended public key per chain family, allocate
deposit addresses from it, and the reads the Wallets page needs.

Writes are `<entity>_<action>`, keyword-only and atomic. Nothing here logs or stores a
value that `chain.hd` refused: a pasted private key or seed phrase goes no further than
the exception's message, which never contains it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef

from chain import catalogue, hd
from chain.models import Deposit, DepositAddress, Wallet

GAP_LIMIT = 20  # what most wallets scan past the last used address before giving up
GAP_WARNING = (
    "many wallets stop looking past a gap of 20 unused addresses; payments still arrive and payram sees them, "
    "but your wallet may not show them until you raise its gap limit"
)


class WalletError(ValueError):
    """A wallet cannot be set or used. The message is safe to show and never contains a key that was refused."""

    def __init__(self, message: str, *, private: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.private = private


class NoWallet(WalletError):
    """The project has no extended public key for the family yet."""


def family_for_network(network: str | catalogue.Network) -> str:
    """The chain family ("bitcoin", "evm", …) whose key derives addresses for a network slug."""
    return (catalogue.get(network) if isinstance(network, str) else network).family


def wallet_get(*, project, family: str) -> Wallet | None:
    return Wallet.objects.filter(project=project, family=family).first()


def wallet_set(*, project, family: str, xpub: str, script_type: str | None = None) -> Wallet:
    """Validate and store the project's account-level extended public key for `family`.

    `script_type` overrides the address type the key's prefix stands for (Bitcoin only:
    some wallets export an "xpub" for a native SegWit account). Replacing a key is allowed
    until the wallet has handed out an address: after that, payments may already be on
    their way to the old key's addresses, and the new key's addresses would start past
    the gap its wallet scans."""
    if family not in catalogue.FAMILIES:
        raise WalletError(f"Unknown chain family {family!r}.")
    try:
        key = hd.parse_account_key(xpub, family)
    except hd.KeyRefused as exc:
        raise WalletError(exc.message, private=exc.private) from None  # `from None`: no traceback holding the value
    if script_type in (None, ""):
        script_type = key.script_type
    elif family == "evm" or script_type not in hd.BITCOIN_SCRIPT_TYPES:
        raise WalletError(f"Unknown address type {script_type!r} for {catalogue.FAMILIES[family]}.")
    with transaction.atomic():
        if _used_by_another_project(project=project, key=key, script_type=script_type):
            raise WalletError("That key is already used by another project. Each project needs its own account key.")
        wallet = Wallet.objects.select_for_update().filter(project=project, family=family).first()
        if wallet is None:
            try:
                with transaction.atomic():
                    return Wallet.objects.create(project=project, family=family, xpub=key.xpub, script_type=script_type)
            except IntegrityError:
                raise WalletError("That key was just saved by another project or request. Reload the page.") from None
        if wallet.xpub == key.xpub and wallet.script_type == script_type:
            return wallet
        if wallet.addresses.exists():
            raise WalletError(
                "This wallet has already handed out deposit addresses, so its key cannot be replaced: "
                "payments to those addresses must stay yours. Keep this key, or use a new project for a new key."
            )
        wallet.xpub = key.xpub
        wallet.script_type = script_type
        wallet.next_index = 0
        wallet.save(update_fields=["xpub", "script_type", "next_index"])
        return wallet


def _used_by_another_project(*, project, key: hd.AccountKey, script_type: str) -> bool:
    """The same account under another prefix (an xpub and a zpub with the same address
    type) derives the same addresses, so compare the key itself, not the text."""
    others = Wallet.objects.filter(family=key.family).exclude(project=project).values_list("xpub", "script_type")
    for xpub, other_script_type in others:
        if xpub == key.xpub:
            return True
        other = hd.parse_account_key(xpub, key.family)
        if other.node == key.node and other_script_type == script_type:
            return True
    return False


def address_allocate(*, project, family: str, link=None, purpose: str = "payment link") -> DepositAddress:
    """Claim the next receive index of the project's wallet for `family` and remember the
    address. Concurrent callers get distinct, gap-free indexes: the conditional UPDATE
    locks the wallet row until this transaction ends, and a rollback returns the index."""
    with transaction.atomic():
        wallet_id = Wallet.objects.filter(project=project, family=family).values_list("pk", flat=True).first()
        if wallet_id is None:
            raise NoWallet(f"The project has no {catalogue.FAMILIES.get(family, family)} key yet. Add one on the Wallets page.")
        Wallet.objects.filter(pk=wallet_id).update(next_index=F("next_index") + 1)
        wallet = Wallet.objects.get(pk=wallet_id)
        index = wallet.next_index - 1
        address = hd.derive_address(family=family, xpub=wallet.xpub, index=index, script_type=wallet.script_type)
        return DepositAddress.objects.create(
            project_id=wallet.project_id,
            wallet=wallet,
            family=family,
            index=index,
            address=address,
            link=link,
            purpose=purpose[:40],
        )


def addresses_preview(wallet: Wallet, count: int = 3) -> list[str]:
    """The first `count` receive addresses (m/.../0/0…), for the merchant to compare with their wallet."""
    key = hd.parse_account_key(wallet.xpub, wallet.family)
    return hd.receive_addresses(key, 0, count, script_type=wallet.script_type)


def unused_gap(project, family: str) -> int:
    """How many of the most recently allocated addresses in a row have seen no deposit
    (orphaned deposits do not count): the gap a wallet must scan past to find the rest."""
    used = Deposit.objects.filter(address=OuterRef("pk"), orphaned=False)
    last_used_index = (
        DepositAddress.objects.filter(project=project, family=family)
        .filter(Exists(used))
        .order_by("-index")
        .values_list("index", flat=True)
        .first()
    )
    allocated = DepositAddress.objects.filter(project=project, family=family)
    if last_used_index is not None:
        allocated = allocated.filter(index__gt=last_used_index)
    return allocated.count()


def gap_is_too_wide(project, family: str) -> bool:
    return unused_gap(project, family) > GAP_LIMIT


def project_confirmations_set(*, project, thresholds: dict[str, int | None]) -> dict[str, int]:
    """Set the project's confirmation threshold per network slug; None returns a network
    to the catalogue default. Networks not named keep their current override."""
    known = catalogue.networks()
    for slug, value in thresholds.items():
        if slug not in known:
            raise WalletError(f"Unknown network {slug!r}.")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise WalletError(f"{known[slug].name}: the threshold must be a whole number of at least 1.")
    with transaction.atomic():
        locked = type(project).objects.select_for_update().get(pk=project.pk)
        overrides = {k: v for k, v in (locked.confirmation_overrides or {}).items()}
        for slug, value in thresholds.items():
            if value is None or value == known[slug].confirmations:
                overrides.pop(slug, None)
            else:
                overrides[slug] = value
        locked.confirmation_overrides = overrides
        locked.save(update_fields=["confirmation_overrides"])
    project.confirmation_overrides = overrides
    return overrides


def confirmation_networks() -> list[catalogue.Network]:
    """Networks whose threshold a merchant may set: enabled ones first, then the rest."""
    nets = list(catalogue.networks().values())
    return sorted(nets, key=lambda n: (not n.enabled, n.testnet, list(catalogue.networks()).index(n.slug)))


def wide_gaps(projects) -> list[tuple[object, str, int]]:
    """[(project, family, gap)] for every wallet of these projects whose unused gap is past
    GAP_LIMIT: what a dashboard banner lists, linking to the Wallets page."""
    found = []
    for wallet in Wallet.objects.filter(project__in=projects).select_related("project").order_by("project__name", "family"):
        gap = unused_gap(wallet.project, wallet.family)
        if gap > GAP_LIMIT:
            found.append((wallet.project, wallet.family, gap))
    return found
