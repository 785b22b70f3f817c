"""python manage.py demo_setup — the database half of bin/run's demo (re-runnable).

On the local devnet (anvil, chain id 31337, at PAYRAM_RPC_DEVNET): deploys the test USDC
if it is not there yet, and notices a devnet that was started afresh (its blocks no
longer match what was scanned) so scanning starts over instead of reporting a reorg.
Then makes sure of a merchant `demo` with a known password (kept in
<PAYRAM_VAR_DIR>/demo-password, mode 600), a project "Demo Store" whose EVM wallet is the
PUBLIC test key below, a member, and one open payment link to try; prints how to sign in.

The EVM key is the account xpub m/44'/60'/0' of the published test mnemonic
"abandon abandon … about". It is a PUBLIC key of a seed the whole world knows: fine for
a local demo, never for real money.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chain import catalogue, devnet
from chain.models import Cursor, Deposit, ScannedBlock, Wallet
from chain.signals import deposits_changed
from chain.wallets import WalletError, wallet_set
from links.models import LinkStatus, PaymentLink
from members.models import Member, Project
from members.services import project_create

DEMO_EVM_XPUB = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
DEMO_USERNAME = "demo"
DEMO_PROJECT = "Demo Store"
DEMO_MEMBER = "customer@example.com"


class Command(BaseCommand):
    help = "Prepare the local devnet demo: test token, demo merchant, Demo Store with a public test EVM key, a link to pay."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="", help="where the server will listen (default: PAYRAM_BASE_URL)")
        parser.add_argument("--no-devnet", action="store_true", help="skip the devnet node (database part only)")

    def handle(self, *args, base_url: str = "", no_devnet: bool = False, **options):
        base_url = (base_url or settings.PAYRAM_BASE_URL or "http://127.0.0.1:8000").rstrip("/")
        if not no_devnet:
            self.prepare_devnet()
        password = self.merchant_password()
        link = self.demo_data()
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS("payram demo is ready."))
        w(f"  Open      {base_url}/")
        w(f"  Sign in   username: {DEMO_USERNAME}   password: {password}")
        w(f"  Try it    {base_url}/pay/{link.code}/  (pick USDC on Local devnet, then Simulate payment)")
        w("            or Payments → Create Payment Link, open its /pay/ page in another browser.")
        w("  Wallet    Demo Store's EVM key is the PUBLIC account key (m/44'/60'/0') of the published test")
        w('            mnemonic "abandon ×11 about". Everyone knows its seed: never use it for real money.')

    # -- devnet -------------------------------------------------------------------------

    def prepare_devnet(self) -> None:
        net = catalogue.get("devnet")
        if not net.enabled:
            raise CommandError("PAYRAM_RPC_DEVNET is not set: start anvil and point it there (bin/run does both).")
        try:
            w3 = devnet.connect(net.rpc_url)
            address = devnet.deploy_token(w3)
        except devnet.DevnetError as exc:
            raise CommandError(f"devnet: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - connection refused and friends, shown plainly
            raise CommandError(f"devnet node at {net.display_rpc_url} does not answer: {exc}") from None
        self.stdout.write(f"Devnet (chain id {w3.eth.chain_id}) at {net.display_rpc_url}: test USDC at {address}")
        self.forget_replaced_devnet(w3)

    def forget_replaced_devnet(self, w3) -> None:
        """A devnet started from scratch has other blocks at the heights we scanned. Its
        old deposits are gone with it: mark them orphaned (kept, never counted) and start
        scanning the new chain from its current head."""

        cursor = Cursor.objects.filter(network="devnet").first()
        if cursor is None or cursor.height is None:
            return
        head = w3.eth.block_number
        same_chain = (
            cursor.height <= head
            and ("0x" + bytes(w3.eth.get_block(cursor.height)["hash"]).hex().removeprefix("0x")).lower()
            == (cursor.block_hash or "").lower()
        )
        if same_chain:
            return
        with transaction.atomic():
            gone = Deposit.objects.filter(network="devnet", orphaned=False)
            address_ids = set(gone.values_list("address_id", flat=True))
            gone.update(orphaned=True)
            ScannedBlock.objects.filter(network="devnet").delete()
            Cursor.objects.filter(network="devnet").delete()
        deposits_changed.send_robust(sender=Cursor, network="devnet", address_ids=address_ids)
        self.stdout.write("The devnet was started afresh: its old deposits are marked orphaned and scanning starts over.")

    # -- database -------------------------------------------------------------------------

    def merchant_password(self) -> str:
        User = get_user_model()
        path = Path(settings.VAR_DIR) / "demo-password"
        user = User.objects.filter(username=DEMO_USERNAME).first()
        known = path.read_text().strip() if path.exists() else ""
        if user and known and user.check_password(known):
            return known
        password = secrets.token_urlsafe(9)
        if user is None:
            user = User.objects.create_user(username=DEMO_USERNAME, email="demo@example.com", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        return password

    def demo_data(self):
        user = get_user_model().objects.get(username=DEMO_USERNAME)
        with transaction.atomic():
            project = Project.objects.filter(name=DEMO_PROJECT, owners=user).first()
            if project is None:
                project = project_create(owner=user, name=DEMO_PROJECT)
            # Retired keys count: a key never serves two projects. An EVM key the merchant
            # put in place of the demo key (Replace key on Wallets) stays.
            owner_of_key = Wallet.objects.filter(family="evm", xpub=DEMO_EVM_XPUB).exclude(project=project).first()
            has_evm_key = Wallet.objects.active().filter(project=project, family="evm").exists()
            if not has_evm_key and owner_of_key is None:
                try:
                    wallet_set(project=project, family="evm", xpub=DEMO_EVM_XPUB)
                except WalletError as exc:
                    raise CommandError(f"Demo Store's EVM wallet: {exc.message}") from None
            elif not has_evm_key:
                self.stdout.write(f"(The public test key already belongs to project {owner_of_key.project}; left there.)")
            member, _ = Member.objects.get_or_create(project=project, email=DEMO_MEMBER, defaults={"name": "Demo Customer"})
            link = PaymentLink.objects.filter(project=project, status=LinkStatus.PENDING, amount_received__isnull=True).first()
            if link is None:
                link = PaymentLink.objects.create(
                    project=project,
                    member=member,
                    amount=Decimal("25.00"),
                    currency="USD",
                    description="Demo order: two coffees and a croissant",
                    created_by=user,
                )
        return link
