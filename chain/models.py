from __future__ import annotations

from django.db import models

from payram.lib.fields import BaseUnitsField


class WalletQuerySet(models.QuerySet):
    def active(self) -> WalletQuerySet:
        """The wallets new addresses come from: at most one per (project, family)."""
        return self.filter(retired_at__isnull=True)


class Wallet(models.Model):
    """A project's account-level extended PUBLIC key for one chain family. Never a private key.

    A key that has handed out addresses is never edited or deleted: replacing it sets
    `retired_at` and creates a new wallet. A retired wallet hands out no new address, but
    its addresses stay DepositAddress rows, so the scanner keeps watching them. Look up
    "the project's key for a family" with `.active()`."""

    project = models.ForeignKey("members.Project", on_delete=models.PROTECT, related_name="wallets")
    family = models.CharField(max_length=24)  # chain.catalogue family: "evm", "bitcoin", "bitcoin-testnet", "bitcoin-regtest"
    xpub = models.CharField(max_length=200)
    script_type = models.CharField(max_length=16)  # "p2wpkh", "p2sh-p2wpkh", "p2pkh", "evm"
    next_index = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)  # replaced by a newer key; its addresses are still watched

    objects = WalletQuerySet.as_manager()

    class Meta:
        constraints = [
            # One active key per project and family; retired keys are kept beside it.
            models.UniqueConstraint(
                fields=["project", "family"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_wallet_per_project_family",
            ),
            # Retired keys included: a key never serves two projects, nor comes back.
            models.UniqueConstraint(fields=["family", "xpub"], name="xpub_used_by_one_project"),
        ]

    @property
    def is_active(self) -> bool:
        return self.retired_at is None

    def __str__(self) -> str:
        state = "" if self.retired_at is None else " (retired)"
        return f"{self.family} wallet of project {self.project_id}{state}"


class DepositAddress(models.Model):
    """One derived receive address (m/.../0/index), remembered with what it was allocated for
    (`purpose`). chain knows addresses and their deposits only: which payment link an address
    belongs to is recorded by links (links.LinkAddress)."""

    project = models.ForeignKey("members.Project", on_delete=models.PROTECT, related_name="deposit_addresses")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="addresses")
    family = models.CharField(max_length=24)
    index = models.PositiveIntegerField()
    address = models.CharField(max_length=100)  # EVM: EIP-55 checksummed; Bitcoin: as the network encodes it
    purpose = models.CharField(max_length=40, blank=True, default="payment link")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet", "index"], name="one_address_per_wallet_index"),
            models.UniqueConstraint(fields=["family", "address"], name="address_unique_in_family"),
        ]

    def __str__(self) -> str:
        return self.address


class Cursor(models.Model):
    """Per network: the last block processed (with its hash) and the scanner's health."""

    network = models.CharField(max_length=40, primary_key=True)
    height = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=80, blank=True)
    node_head = models.BigIntegerField(null=True, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The last failure was the node not answering at all (down, refused, timed out): while
    # backing off, a cheap liveness probe at the poll interval may end the wait early.
    node_unreachable = models.BooleanField(default=False, db_default=False)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    # Push wake-ups (chain.push): "connected", "disconnected: why", "stopped"; blank: none.
    push_state = models.CharField(max_length=200, blank=True, db_default="", default="")
    push_state_at = models.DateTimeField(null=True, blank=True)
    # The scan lease: claimed with a conditional UPDATE, so one scan per network runs at a
    # time across workers; it expires, so a dead worker cannot hold it forever.
    lock_owner = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.network} at {self.height}"


class ScannedBlock(models.Model):
    """Recent processed blocks' hashes, to find the common ancestor after a reorg."""

    network = models.CharField(max_length=40)
    height = models.BigIntegerField()
    block_hash = models.CharField(max_length=80)
    parent_hash = models.CharField(max_length=80)
    block_time = models.DateTimeField(null=True, blank=True)  # the header's timestamp, as its producer set it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["network", "height"], name="one_scanned_block_per_height")]


class Deposit(models.Model):
    """One transfer seen on chain to one of our deposit addresses. Scanners only record
    these; links.status derives what they mean. Unique on (network, tx_hash, index)."""

    network = models.CharField(max_length=40)
    asset = models.CharField(max_length=16)
    tx_hash = models.CharField(max_length=80)
    index = models.PositiveIntegerField()  # Bitcoin output index; EVM log index, or 0 for a native transfer
    address = models.ForeignKey(DepositAddress, on_delete=models.PROTECT, related_name="deposits")
    value = BaseUnitsField()  # base units
    block_height = models.BigIntegerField(null=True, blank=True)  # null while in the mempool
    block_hash = models.CharField(max_length=80, blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    orphaned = models.BooleanField(default=False)  # its block left the chain; kept for the audit trail
    coinbase = models.BooleanField(default=False, db_default=False)  # a block reward: counts only once mature (chain.catalogue)
    # When the network first had it, by the chain's clock, not payram's: the node's own
    # mempool entry time if payram saw it unconfirmed, else its block's time (bounded: see
    # chain.scanner.chain_time). Decides paid late and refund due; null on rows from before.
    chain_time = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)  # when payram recorded it
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [models.UniqueConstraint(fields=["network", "tx_hash", "index"], name="deposit_unique_per_output")]
        indexes = [models.Index(fields=["network", "block_height"])]

    def __str__(self) -> str:
        return f"{self.value} {self.asset} on {self.network} in {self.tx_hash}:{self.index}"

    @property
    def paid_time(self):
        """When the money was sent, as far as the chain says (payram's own record for rows
        written before chain times were kept)."""
        return self.chain_time or self.first_seen_at
