"""Wallet services: store a project's extended public key per chain family, allocate
deposit addresses from it, and the reads the Wallets page needs.

Writes are `<entity>_<action>`, keyword-only and atomic. Nothing here logs or stores a
value that `chain.hd` refused: a pasted private key or seed phrase goes no further than
the exception's message, which never contains it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from chain import catalogue, hd
from chain.models import Deposit, DepositAddress, Wallet
from chain.signals import wallet_addresses_held

if TYPE_CHECKING:
    from members.models import Project

logger = logging.getLogger("chain.wallets")

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


class KeyInUse(WalletError):
    """Setting a key over one that has handed out addresses: that is a replacement, which
    retires the current key (wallet_replace) and needs the merchant's confirmation."""

    def __init__(self, message: str, *, wallet: Wallet) -> None:
        super().__init__(message)
        self.wallet = wallet


class KeyChanged(WalletError):
    """The active key is no longer the one the merchant confirmed replacing (another
    request replaced it meanwhile)."""


def family_for_network(network: str | catalogue.Network) -> str:
    """The chain family ("bitcoin", "evm", …) whose key derives addresses for a network slug."""
    return (catalogue.get(network) if isinstance(network, str) else network).family


def wallet_get(*, project, family: str) -> Wallet | None:
    """The project's active key for `family` (retired keys hand out no new address)."""
    return Wallet.objects.active().filter(project=project, family=family).first()


def key_reference(xpub: str, family: str) -> str:
    """What logs name a key by: its prefix and BIP32 fingerprint, never the whole key (a
    stored value that does not parse is not quoted at all)."""
    try:
        key = hd.parse_account_key(xpub, family)
    except hd.KeyRefused:
        return "an unreadable key"
    return f"{key.prefix} fingerprint {key.fingerprint}"


def _parse(family: str, xpub: str, script_type: str | None) -> tuple[hd.AccountKey, str]:
    """The validation setting and replacing share: a public account key of the family's
    network (private keys, seeds, other networks refused) and a known address type.
    `xpub` may also be an output descriptor (wpkh(…), sh(wpkh(…)), pkh(…), tr(…)), whose
    function then gives the address type; the wallet stores its bare account key."""
    if family not in catalogue.FAMILIES:
        raise WalletError(f"Unknown chain family {family!r}.")
    try:
        if hd.looks_like_descriptor(xpub):
            descriptor = hd.parse_descriptor(xpub, family)
        else:
            descriptor, key = None, hd.parse_account_key(xpub, family)
    except hd.KeyRefused as exc:
        raise WalletError(exc.message, private=exc.private) from None  # `from None`: no traceback holding the value
    if descriptor is not None:
        # The descriptor names the address type: no guess from the key's prefix.
        if script_type not in (None, "", descriptor.script_type):
            raise WalletError(
                f"That descriptor is for {hd.BITCOIN_SCRIPT_TYPES[descriptor.script_type]} addresses, not "
                f"{hd.BITCOIN_SCRIPT_TYPES.get(script_type, script_type)}: leave the address type on automatic."
            )
        return descriptor.key, descriptor.script_type
    if script_type in (None, ""):
        script_type = key.script_type
    elif family in ("evm", "tron") or script_type not in hd.BITCOIN_SCRIPT_TYPES:
        raise WalletError(f"Unknown address type {script_type!r} for {catalogue.FAMILIES[family]}.")
    return key, script_type


def _derives_the_same(wallet: Wallet, key: hd.AccountKey, script_type: str) -> bool:
    """Whether `wallet` hands out the addresses `key` would (the same account under
    another prefix, with the same address type, counts as the same key)."""
    if wallet.script_type != script_type:
        return False
    if wallet.xpub == key.xpub:
        return True
    try:
        stored = hd.parse_account_key(wallet.xpub, wallet.family)
    except hd.KeyRefused:
        return False
    return stored.node == key.node


def _vet(*, project, family: str, key: hd.AccountKey, script_type: str, active: Wallet | None) -> None:
    """Refuse a key that would be shared with another project, that this project retired,
    or that the database's one-project-per-key rule would refuse with the active key."""
    if (holder := _used_by_another_project(project=project, key=key, script_type=script_type)) is not None:
        # Only the merchant's own project is named: whether someone else on this server
        # uses a key is their business (and would reveal who holds it).
        if holder.owners.filter(pk__in=project.owners.values("pk")).exists():
            raise WalletError(
                f"That key is already used by your project “{holder.name}”. Each project needs its own account key."
            )
        raise WalletError(
            "That key can't be used for this project. Each project needs its own account key: "
            "export another account from your wallet (for example the next one) and paste its key."
        )
    retired = Wallet.objects.filter(project=project, family=family, retired_at__isnull=False).order_by("-retired_at")
    for old in retired:
        if old.xpub == key.xpub or _derives_the_same(old, key, script_type):
            raise WalletError(
                f"That key was retired from this project on {timezone.localtime(old.retired_at):%d %b %Y}. "
                "A retired key cannot be made active again (its addresses are still watched). "
                "Use a new account key, for example the next account in your wallet."
            )
    if active is not None and active.xpub == key.xpub and active.script_type != script_type and active.addresses.exists():
        raise WalletError(
            "That is the current key with another address type. Its addresses have been handed out, so it stays as it is. "
            "For another address type, paste the same account exported for that type (zpub for native SegWit, ypub for "
            "nested SegWit) instead."
        )


def wallet_set(*, project, family: str, xpub: str, script_type: str | None = None, by=None) -> Wallet:
    """Validate and store the project's account-level extended public key for `family`.

    `script_type` overrides the address type the key's prefix stands for (Bitcoin only:
    some wallets export an "xpub" for a native SegWit account). A key that has not handed
    out an address yet is simply overwritten. Once it has, payments may be on their way to
    its addresses: replacing it is `wallet_replace`, which retires it and keeps watching
    those addresses; here that raises KeyInUse."""
    key, script_type = _parse(family, xpub, script_type)
    with transaction.atomic():
        wallet = Wallet.objects.active().select_for_update().filter(project=project, family=family).first()
        if wallet is not None and wallet.xpub == key.xpub and wallet.script_type == script_type:
            return wallet
        _vet(project=project, family=family, key=key, script_type=script_type, active=wallet)
        if wallet is None:
            try:
                with transaction.atomic():
                    wallet = Wallet.objects.create(project=project, family=family, xpub=key.xpub, script_type=script_type)
            except IntegrityError:
                raise WalletError("That key was just saved by another project or request. Reload the page.") from None
            _audit("set", wallet, by=by)
            return wallet
        if wallet.addresses.exists():
            if _derives_the_same(wallet, key, script_type):
                return wallet  # the same account under another prefix: nothing to change
            raise KeyInUse(
                "This key has already handed out deposit addresses. Replacing it retires it: its addresses stay "
                "watched and new payments use the new key. Confirm the replacement on the Wallets page.",
                wallet=wallet,
            )
        old_reference = key_reference(wallet.xpub, family)
        wallet.xpub = key.xpub
        wallet.script_type = script_type
        wallet.next_index = 0
        wallet.save(update_fields=["xpub", "script_type", "next_index"])
        _audit("overwrote", wallet, by=by, old=old_reference)
        return wallet


@dataclass(frozen=True)
class Replacement:
    """What replacing the active key would do, for the merchant to check before confirming."""

    current: Wallet
    xpub: str
    script_type: str
    preview: list[str]  # the new key's first receive addresses (m/.../0/0…)
    open_links: int  # pending links holding an address of the current key: they keep it


def wallet_replace_check(*, project, family: str, xpub: str, script_type: str | None = None) -> Replacement:
    """Validate a replacement key exactly as wallet_replace will, without storing anything."""
    key, script_type = _parse(family, xpub, script_type)
    current = wallet_get(project=project, family=family)
    if current is None:
        raise NoWallet(f"The project has no {catalogue.FAMILIES[family]} key to replace. Save one instead.")
    if _derives_the_same(current, key, script_type):
        raise WalletError("That is already this project's key: there is nothing to replace.")
    _vet(project=project, family=family, key=key, script_type=script_type, active=current)
    return Replacement(
        current=current,
        xpub=key.xpub,
        script_type=script_type,
        preview=hd.receive_addresses(key, 0, 3, script_type=script_type),
        open_links=open_links_holding(current),
    )


def wallet_replace(*, project, family: str, xpub: str, script_type: str | None = None, current: int, by=None) -> Wallet:
    """Make `xpub` the project's active key for `family` in place of wallet `current` (the
    one the merchant saw and confirmed replacing).

    The replaced wallet is retired, never deleted: its deposit addresses stay rows the
    scanner matches, and links already holding one keep it. The new wallet hands out
    addresses from index 0. A current key that never handed out an address is simply
    overwritten. Concurrent replacements: the active row is locked, and whoever comes
    second finds `current` retired and gets KeyChanged (or, on a double submit of the same
    key, the wallet the first one created)."""
    key, script_type = _parse(family, xpub, script_type)
    with transaction.atomic():
        active = Wallet.objects.active().select_for_update().filter(project=project, family=family).first()
        if active is None or active.pk != current:
            # A fresh look: on PostgreSQL, a replacement that committed while this one
            # waited for the row lock is visible to the next statement only.
            latest = Wallet.objects.active().filter(project=project, family=family).first()
            if latest is not None and _derives_the_same(latest, key, script_type):
                return latest  # a double submit of the replacement that just happened
            raise KeyChanged(
                f"The {catalogue.FAMILIES[family]} key of {project.name} was changed meanwhile. "
                "Check the key shown on the Wallets page, then replace it again if you still need to."
            )
        if _derives_the_same(active, key, script_type):
            return active
        _vet(project=project, family=family, key=key, script_type=script_type, active=active)
        if not active.addresses.exists():
            old_reference = key_reference(active.xpub, family)
            active.xpub, active.script_type, active.next_index = key.xpub, script_type, 0
            active.save(update_fields=["xpub", "script_type", "next_index"])
            _audit("overwrote", active, by=by, old=old_reference)
            return active
        active.retired_at = timezone.now()
        active.save(update_fields=["retired_at"])
        try:
            with transaction.atomic():
                wallet = Wallet.objects.create(project=project, family=family, xpub=key.xpub, script_type=script_type)
        except IntegrityError:
            raise KeyChanged("That key was just saved by another project or request. Reload the page.") from None
        _audit("replaced", wallet, by=by, old=key_reference(active.xpub, family), retired=active)
        return wallet


def open_links_holding(wallet: Wallet) -> int:
    """How many pending payment links hold a deposit address of `wallet` (they keep it,
    also for a refreshed quote, after the key is replaced). links records which address is
    whose and answers on `wallet_addresses_held`."""
    held = 0
    for receiver, answer in wallet_addresses_held.send_robust(sender=Wallet, wallet=wallet):
        if isinstance(answer, Exception):
            logger.error("wallet_addresses_held receiver %r failed: %r", receiver, answer, exc_info=answer)
        elif isinstance(answer, int):
            held += answer
    return held


def _audit(action: str, wallet: Wallet, *, by=None, old: str = "", retired: Wallet | None = None) -> None:
    """One log line per key change: who, which project and family, and the keys by prefix
    and fingerprint only."""
    who = f"user {by.pk}" if by is not None and getattr(by, "pk", None) else "a command"
    new = key_reference(wallet.xpub, wallet.family)
    if action == "replaced":
        logger.info(
            "wallet key replaced by %s: project %s %s: retired wallet %s (%s, addresses handed out: %s, still watched); "
            "active wallet %s (%s) from index 0",
            who,
            wallet.project_id,
            wallet.family,
            retired.pk,
            old,
            retired.next_index,
            wallet.pk,
            new,
        )
    elif action == "overwrote":
        logger.info(
            "wallet key changed by %s: project %s %s: wallet %s now %s (was %s, which had handed out no address)",
            who,
            wallet.project_id,
            wallet.family,
            wallet.pk,
            new,
            old,
        )
    else:
        logger.info("wallet key set by %s: project %s %s: wallet %s (%s)", who, wallet.project_id, wallet.family, wallet.pk, new)


def _used_by_another_project(*, project, key: hd.AccountKey, script_type: str) -> Project | None:
    """The same account under another prefix (an xpub and a zpub with the same address
    type) derives the same addresses, so compare the key itself, not the text. Retired
    keys count: a key never serves two projects. The project that holds it, or None."""
    others = Wallet.objects.filter(family=key.family).exclude(project=project).select_related("project")
    for other_wallet in others.only("xpub", "script_type", "project__name"):
        if other_wallet.xpub == key.xpub:
            return other_wallet.project
        try:
            other = hd.parse_account_key(other_wallet.xpub, key.family)
        except hd.KeyRefused:
            continue  # a stored value that no longer parses (edited by hand) derives nothing
        if other.node == key.node and other_wallet.script_type == script_type:
            return other_wallet.project
    return None


def address_allocate(*, project, family: str, purpose: str = "payment link") -> DepositAddress:
    """Claim the next receive index of the project's active wallet for `family` and
    remember the address. Concurrent callers get distinct, gap-free indexes: the
    conditional UPDATE locks the wallet row until this transaction ends, and a rollback
    returns the index. The UPDATE also requires the wallet to be active: one racing a key
    replacement waits for it, finds the row retired, and takes the new key instead."""
    with transaction.atomic():
        for _attempt in range(3):
            wallet_id = Wallet.objects.active().filter(project=project, family=family).values_list("pk", flat=True).first()
            if wallet_id is None:
                raise NoWallet(
                    f"The project has no {catalogue.FAMILIES.get(family, family)} key yet. Add one on the Wallets page."
                )
            if Wallet.objects.active().filter(pk=wallet_id).update(next_index=F("next_index") + 1):
                break
        else:
            raise WalletError(f"The project's {catalogue.FAMILIES.get(family, family)} key is being replaced. Try again.")
        wallet = Wallet.objects.get(pk=wallet_id)
        index = wallet.next_index - 1
        address = hd.derive_address(family=family, xpub=wallet.xpub, index=index, script_type=wallet.script_type)
        return DepositAddress.objects.create(
            project_id=wallet.project_id,
            wallet=wallet,
            family=family,
            index=index,
            address=address,
            purpose=purpose[:40],
        )


def addresses_preview(wallet: Wallet, count: int = 3) -> list[str]:
    """The first `count` receive addresses (m/.../0/0…), for the merchant to compare with their wallet."""
    key = hd.parse_account_key(wallet.xpub, wallet.family)
    return hd.receive_addresses(key, 0, count, script_type=wallet.script_type)


def unused_gap(project, family: str, *, wallet: Wallet | None = None) -> int:
    """How many of the most recently allocated addresses in a row have seen no deposit
    (orphaned deposits do not count): the gap a wallet must scan past to find the rest.
    Counted on one key's addresses: `wallet`, or the project's active key for `family`."""
    if wallet is None:
        wallet = wallet_get(project=project, family=family)
        if wallet is None:
            return 0
    used = Deposit.objects.filter(address=OuterRef("pk"), orphaned=False)
    derived = DepositAddress.objects.filter(wallet=wallet).exclude(purpose="refund")  # refund watch rows are customers' addresses
    last_used_index = derived.filter(Exists(used)).order_by("-index").values_list("index", flat=True).first()
    allocated = derived
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
    for wallet in (
        Wallet.objects.active().filter(project__in=projects).select_related("project").order_by("project__name", "family")
    ):
        gap = unused_gap(wallet.project, wallet.family, wallet=wallet)
        if gap > GAP_LIMIT:
            found.append((wallet.project, wallet.family, gap))
    return found
