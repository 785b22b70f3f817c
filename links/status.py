"""The one function that says what a payment link's state is. Everything else (scanner,
cancel, settle, quotes, housekeeping, a project's policy) records facts and calls the one
writer, update_link_state; nothing sets PaymentLink.status by hand. Reads never write:
pages and API GETs call show_link_state, which derives the same state without saving it
(a link whose expiry passed a moment ago is shown Expired before housekeeping stores it). Because the state is recomputed from the recorded facts
every time, replays, duplicate notifications and reorgs are safe: a deposit whose block
left the chain is marked orphaned by the scanner and simply stops counting.

How deposits are counted
------------------------
Facts: the link's quotes (newest is current) and the non-orphaned chain.Deposit rows to
the link's deposit addresses.

* The *counted pair* is one (network, asset): the newest quote's pair if it has
  deposits, else the newest quoted pair that has deposits, else the newest quote's pair.
  Deposits of that pair add up, whatever quote of the pair they were paid under (an
  expired quote refreshed to a new rate keeps the address, so part-payments made under
  the old one still count). The amount due is the newest quote of that pair's.
* A deposit of any other asset or network to the same address (an EVM address takes
  ETH and every token on every EVM chain) is recorded and shown by `link_deposits`
  with `counted=False`, never added to a sum in another unit. It does not change the
  status, except on a cancelled or too-late link, where any money at all is flagged
  refund_due. checkout.quote_create refuses to switch a link to another pair once the
  counted pair has money, so a customer cannot split one payment over two coins.
* Successful only when the counted deposits with confirmations >= the project's
  threshold for the network (chain.catalogue.confirmations_required) reach the amount
  due. Unconfirmed money shows as payment_seen / confirming / underpaid.

A block reward (coinbase output) paid to a deposit address counts only once mature (Bitcoin:
100 confirmations, whatever the threshold); until then the link shows "maturing (n of 100)".

Timeliness of the deposit that completed the payment, at t = when the network first had it
(chain.models.Deposit.chain_time: the node's mempool entry time, else its block's time; not
when payram happened to record it, so an outage of payram or its node never makes an
on-time payment late):
* on time: t <= the pair's latest quote expiry and (no link expiry or t <= it);
* late: after that, but within PAYRAM_LATE_PAYMENT_HOURS of both deadlines -> Successful,
  detail paid_late (the merchant sees the flag: the rate may have moved);
* too late: after the monitoring window -> recorded, detail refund_due, status Expired if
  the link has expired, else Pending. Never lost, never silently Successful.
A link whose own expiry passed while its money was still short or confirming stays
Pending (and its page keeps watching) until the window closes; then Expired/refund_due.

Statuses and details (PaymentLink.status / status_detail):
  Pending    awaiting_payment   no money seen yet (a quote may or may not exist)
             payment_seen       the full amount is in the mempool, 0 confirmations
             confirming         the full amount is in blocks, n of N confirmations
             underpaid          some money seen, less than due: received + remaining
             refund_due         paid after the monitoring window (link still open)
  Successful paid               confirmed amount == due
             paid_short        confirmed amount short of due by no more than the project's
                               underpayment tolerance, or by less than the network carries
                               (links.tolerance); amount_short says by how much
             overpaid           confirmed amount > due; the excess is amount_received - due
             paid_late          completed after the quote expired, within the window
             settled            marked as paid by the merchant (links.resolution), whatever
                                the deposits say; they are still shown, never changed
  Cancelled  cancelled          cancelled by the merchant, nothing received
             refund_due         money arrived for a cancelled link: recorded, flagged
  Expired    expired            the link's own expiry passed with nothing received
             refund_due         money arrived (or stayed short) past the window
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chain import catalogue
from chain.models import Deposit
from links.models import LinkSettlement, LinkStatus, PaymentLink, Quote
from links.signals import link_changed
from links.tolerance import allowed_shortfall

FINAL_STATUSES = frozenset({LinkStatus.SUCCESSFUL, LinkStatus.CANCELLED, LinkStatus.EXPIRED})


class Detail:
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_SEEN = "payment_seen"
    CONFIRMING = "confirming"
    UNDERPAID = "underpaid"
    PAID = "paid"
    OVERPAID = "overpaid"
    PAID_LATE = "paid_late"
    PAID_SHORT = "paid_short"
    SETTLED = "settled"
    REFUND_DUE = "refund_due"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


DETAIL_LABELS = {
    Detail.AWAITING_PAYMENT: "Awaiting payment",
    Detail.PAYMENT_SEEN: "Payment seen",
    Detail.CONFIRMING: "Confirming",
    Detail.UNDERPAID: "Underpaid",
    Detail.PAID: "Paid",
    Detail.OVERPAID: "Overpaid",
    Detail.PAID_LATE: "Paid late",
    Detail.PAID_SHORT: "Paid, short",
    Detail.SETTLED: "Marked as paid",
    Detail.REFUND_DUE: "Refund due",
    Detail.CANCELLED: "Cancelled",
    Detail.EXPIRED: "Expired",
}


@dataclass(frozen=True)
class LinkState:
    status: str
    detail: str
    # Persisted on PaymentLink:
    amount_received: int | None = None  # base units of received_asset (counted deposits, seen)
    received_network: str = ""
    received_asset: str = ""
    paid_at: datetime | None = None
    amount_short: int | None = None  # paid_short: base units the payment fell short by
    # For display only:
    quote: Quote | None = None  # newest quote of the counted pair (the current quote if no money yet)
    amount_due: int | None = None
    amount_confirmed: int = 0
    confirmations: int = 0  # n of "n of N" (the least-confirmed counted deposit still short of N)
    confirmations_required: int = 0  # N
    uncounted_deposits: int = 0  # deposits of another asset/network to the link's address
    maturing: bool = False  # n of N counts a block reward's maturity (N = the coinbase maturity)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def remaining(self) -> int:
        if self.amount_due is None:
            return 0
        return max(self.amount_due - (self.amount_received or 0), 0)

    @property
    def excess(self) -> int:
        if self.amount_due is None or not self.amount_received:
            return 0
        return max(self.amount_received - self.amount_due, 0)

    @property
    def detail_label(self) -> str:
        return DETAIL_LABELS.get(self.detail, self.detail)


@dataclass(frozen=True)
class DepositView:
    """One deposit as the pay page and the merchant's link page show it."""

    deposit: object  # chain.models.Deposit
    network_name: str
    asset_decimals: int
    confirmations: int
    confirmations_required: int
    counted: bool
    tx_url: str = ""

    @property
    def confirmed(self) -> bool:
        return self.confirmations >= self.confirmations_required


def _deposits(link: PaymentLink) -> list:
    deposits = list(Deposit.objects.filter(address__link=link, orphaned=False))
    deposits.sort(key=lambda d: (d.paid_time, d.id))
    return deposits


def _settled_at(link: PaymentLink) -> datetime | None:
    return LinkSettlement.objects.filter(link=link).values_list("created_at", flat=True).first()


def _counted_pair(quotes: list[Quote], deposits: list) -> tuple[str, str] | None:
    paid_pairs = {(d.network, d.asset) for d in deposits}
    if quotes and (quotes[0].network, quotes[0].asset) in paid_pairs:
        return quotes[0].network, quotes[0].asset
    for q in quotes:
        if (q.network, q.asset) in paid_pairs:
            return q.network, q.asset
    if quotes:
        return quotes[0].network, quotes[0].asset
    return None


def _required(link: PaymentLink, network: str) -> int:
    try:
        return max(catalogue.confirmations_required(link.project, network), 1)
    except KeyError:  # a network removed from the catalogue: its deposits still show
        return 1


def _needed(deposit, required: int) -> int:
    """Confirmations before this deposit counts: the threshold, or a block reward's maturity."""
    if deposit.coinbase:
        try:
            return max(required, catalogue.get(deposit.network).coinbase_maturity)
        except KeyError:
            return max(required, 100)
    return required


def _completing_deposit(confirmed: list, due: int):
    """The confirmed deposit whose arrival made the sum reach `due` (in order of chain time)."""
    total = 0
    for d in confirmed:
        total += int(d.value)
        if total >= due:
            return d
    return None


def derive_status(
    link: PaymentLink, *, now: datetime | None = None, has_deposits: bool | None = None, settled: bool | None = None
) -> LinkState:
    """The link's state from its quotes and deposits. Pure: reads, never writes.
    `has_deposits=False` / `settled=False` say the caller has just counted none (the pay
    page's facts query): their queries are skipped."""
    now = now or timezone.now()
    window = timedelta(hours=getattr(settings, "PAYRAM_LATE_PAYMENT_HOURS", 24))
    quotes = list(link.quotes.select_related("deposit_address").order_by("-created_at", "-id")) if link.pk else []
    deposits = _deposits(link) if link.pk and has_deposits is not False else []
    link_expired = bool(link.expires_at and link.expires_at <= now)

    pair = _counted_pair(quotes, deposits)
    if pair is None:  # never quoted (any deposit then is to an address of another link)
        if link.cancelled_at:
            return LinkState(LinkStatus.CANCELLED, Detail.CANCELLED)
        if link_expired:
            return LinkState(LinkStatus.EXPIRED, Detail.EXPIRED)
        return LinkState(LinkStatus.PENDING, Detail.AWAITING_PAYMENT)

    network, asset = pair
    pair_quotes = [q for q in quotes if (q.network, q.asset) == pair]
    quote = pair_quotes[0]
    due = int(quote.amount_due)
    required = _required(link, network)
    counted = [d for d in deposits if (d.network, d.asset) == pair]
    uncounted = len(deposits) - len(counted)
    received = sum(int(d.value) for d in counted)
    confirmed_deposits = [d for d in counted if d.confirmations >= _needed(d, required)]
    confirmed = sum(int(d.value) for d in confirmed_deposits)
    waiting = sorted((d for d in counted if d.confirmations < _needed(d, required)), key=lambda d: (d.confirmations, d.id))
    short = [d.confirmations for d in waiting]
    maturing = bool(waiting) and waiting[0].coinbase

    common = dict(
        amount_received=received if counted else None,
        received_network=network if counted else "",
        received_asset=asset if counted else "",
        quote=quote,
        amount_due=due,
        amount_confirmed=confirmed,
        confirmations=min(short) if short else (required if counted else 0),
        confirmations_required=_needed(waiting[0], required) if waiting else required,
        uncounted_deposits=uncounted,
        maturing=maturing,
    )

    if settled is not False and (settled_at := _settled_at(link)):
        return LinkState(LinkStatus.SUCCESSFUL, Detail.SETTLED, **{**common, "paid_at": settled_at})

    if link.cancelled_at:
        detail = Detail.REFUND_DUE if deposits else Detail.CANCELLED
        return LinkState(LinkStatus.CANCELLED, detail, **common)

    quote_deadline = max(q.expires_at for q in pair_quotes)
    on_time_until = min(quote_deadline, link.expires_at) if link.expires_at else quote_deadline
    late_until = on_time_until + window

    enough = due - allowed_shortfall(link, network, due)  # links.tolerance
    if due > 0 and confirmed >= enough:
        done = _completing_deposit(confirmed_deposits, enough)
        seen_at = done.paid_time
        shortfall = due - confirmed if confirmed < due else None
        if seen_at <= late_until:
            if seen_at > on_time_until:
                detail = Detail.PAID_LATE
            else:
                detail = Detail.OVERPAID if confirmed > due else Detail.PAID_SHORT if shortfall else Detail.PAID
            return LinkState(LinkStatus.SUCCESSFUL, detail, **{**common, "paid_at": seen_at, "amount_short": shortfall})
        status = LinkStatus.EXPIRED if link_expired else LinkStatus.PENDING
        return LinkState(status, Detail.REFUND_DUE, **common)

    if link_expired:
        # Money still on its way within the window keeps the link open for it.
        if counted and now <= late_until:
            pass
        elif deposits:
            return LinkState(LinkStatus.EXPIRED, Detail.REFUND_DUE, **common)
        else:
            return LinkState(LinkStatus.EXPIRED, Detail.EXPIRED, **common)

    if not counted:
        return LinkState(LinkStatus.PENDING, Detail.AWAITING_PAYMENT, **common)
    if received < enough:
        return LinkState(LinkStatus.PENDING, Detail.UNDERPAID, **common)
    if min(short) == 0:
        return LinkState(LinkStatus.PENDING, Detail.PAYMENT_SEEN, **common)
    return LinkState(LinkStatus.PENDING, Detail.CONFIRMING, **common)


PERSISTED = ("status", "status_detail", "amount_received", "received_network", "received_asset", "paid_at", "amount_short")


def _persisted(state: LinkState) -> dict:
    return {
        "status": state.status,
        "status_detail": state.detail,
        "amount_received": state.amount_received,
        "received_network": state.received_network,
        "received_asset": state.received_asset,
        "paid_at": state.paid_at,
        "amount_short": state.amount_short,
    }


def _changed(link: PaymentLink, fields: dict) -> list[str]:
    return [name for name, value in fields.items() if getattr(link, name) != value]


def update_link_state(link: PaymentLink, *, now: datetime | None = None) -> LinkState:
    """The one writer: recompute the link's derived fields, store them if they changed
    (announcing the change: webhooks, email) and return the state. Idempotent; safe to
    call from any process at any time. Only a change takes a write lock: the row is then
    locked and recomputed, so two updates never interleave their reads and writes. Call
    it where facts change (scanner, quote, cancel, settle, housekeeping, policy), never
    from a GET: pages use show_link_state."""
    now = now or timezone.now()
    current = PaymentLink.objects.select_related("project").filter(pk=link.pk).first()
    if current is None:
        return derive_status(link, now=now)
    state = derive_status(current, now=now)
    if _changed(current, _persisted(state)):
        with transaction.atomic():
            current = PaymentLink.objects.select_for_update(of=("self",)).select_related("project").get(pk=link.pk)
            state = derive_status(current, now=now)
            fields = _persisted(state)
            changed = _changed(current, fields)
            if changed:
                before = {name: getattr(current, name) for name in PERSISTED}
                for name in changed:
                    setattr(current, name, fields[name])
                current.status_updated_at = now
                current.save(update_fields=[*changed, "status_updated_at"])
                _announce(current, before, state)
    for name in (*PERSISTED, "status_updated_at", "cancelled_at", "expires_at"):
        setattr(link, name, getattr(current, name))
    return state


def show_link_state(
    link: PaymentLink, *, now: datetime | None = None, has_deposits: bool | None = None, settled: bool | None = None
) -> LinkState:
    """The link's state as of now, for pages and API GETs. Reads only: derived from the
    facts (so an expiry that passed, or a deposit recorded before the writer ran, shows at
    once) and copied onto this in-memory `link` for templates, never saved and never
    announced. The stored row catches up when update_link_state runs (scanner,
    housekeeping). `has_deposits`, `settled`: as for derive_status."""
    state = derive_status(link, now=now, has_deposits=has_deposits, settled=settled)
    for name, value in _persisted(state).items():
        setattr(link, name, value)
    return state


def _announce(link: PaymentLink, before: dict, state: LinkState) -> None:
    """Tell the listeners (webhooks, email: links/notifications/) in this transaction."""
    link_changed.send(sender=PaymentLink, link=link, old=before, new=state)


def refresh_links_for_addresses(address_ids) -> int:
    """The deposits_changed receiver's work: rerun the status of every link owning one of
    these deposit addresses. Returns how many links were refreshed."""
    ids = list(PaymentLink.objects.filter(deposit_addresses__id__in=list(address_ids)).values_list("id", flat=True).distinct())
    for link in PaymentLink.objects.filter(id__in=ids):
        update_link_state(link)
    return len(ids)


def refresh_expired_links(*, now: datetime | None = None) -> int:
    """Move Pending links whose own expiry has passed to their derived state (Expired, or
    still Pending while money is confirming). For a periodic task or a cron command:
    pages only show a passed expiry (show_link_state), this stores and announces it."""
    now = now or timezone.now()
    count = 0
    for link in PaymentLink.objects.filter(status=LinkStatus.PENDING, expires_at__lte=now):
        before = link.status
        update_link_state(link, now=now)
        count += link.status != before
    return count


def update_project_links(project_id: int, *, now: datetime | None = None) -> int:
    """A project's policy changed (confirmation thresholds, underpayment tolerance): rerun
    the writer for its Pending links, whose state may now be another. Returns how many
    links changed status."""
    now = now or timezone.now()
    count = 0
    for link in PaymentLink.objects.filter(project_id=project_id, status=LinkStatus.PENDING):
        before = (link.status, link.status_detail)
        update_link_state(link, now=now)
        count += (link.status, link.status_detail) != before
    return count


def link_deposits(link: PaymentLink, *, state: LinkState | None = None) -> list[DepositView]:
    """Every recorded deposit of the link (orphaned ones included, marked), newest
    first, with confirmations, the threshold and the explorer URL, for display."""

    state = state or derive_status(link)
    pair = (state.received_network, state.received_asset) if state.received_asset else None
    if pair is None and state.quote is not None:
        pair = (state.quote.network, state.quote.asset)
    views = []
    deposits = list(Deposit.objects.filter(address__link=link))
    deposits.sort(key=lambda d: (d.paid_time, d.id), reverse=True)
    for d in deposits:
        try:
            net = catalogue.get(d.network)
            name, decimals, tx_url = net.name, net.asset(d.asset).decimals, net.tx_url(d.tx_hash)
        except KeyError:
            name, decimals, tx_url = d.network, 0, ""
        views.append(
            DepositView(
                deposit=d,
                network_name=name,
                asset_decimals=decimals,
                confirmations=d.confirmations,
                confirmations_required=_needed(d, _required(link, d.network)),
                counted=(not d.orphaned) and (d.network, d.asset) == pair,
                tx_url=tx_url,
            )
        )
    return views
