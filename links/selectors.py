"""Reads for payment links, scoped to the signed-in merchant's projects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from chain import catalogue
from chain.models import Deposit
from links.models import LinkStatus, PaymentLink, Quote
from links.status import DETAIL_LABELS, Detail
from members.permissions import team_projects
from payram.lib.money import format_fiat, format_units


def public_url(link: PaymentLink) -> str:
    """Where the customer pays. Built from PAYRAM_BASE_URL so it is right behind a proxy."""
    return f"{settings.PAYRAM_BASE_URL.rstrip('/')}/pay/{link.code}/"


def links_for_user(user) -> QuerySet[PaymentLink]:
    """Links of every project the user owns or is staff on (members.permissions)."""
    return PaymentLink.objects.filter(project__in=team_projects(user, "view_payments")).select_related(
        "project", "member", "created_by", "created_by_api_key"
    )


def link_for_user(user, code: str) -> PaymentLink:
    return get_object_or_404(links_for_user(user), code=code)


def _day(text: str) -> date | None:
    """'2026-12-03' (what <input type=date> sends); None for anything else."""
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PaymentFilters:
    status: str = ""
    project: int | None = None
    q: str = ""
    since: date | None = None  # created on or after this day (the site's time zone)
    until: date | None = None  # created on or before this day

    @classmethod
    def from_query(cls, params, *, project_ids: set[int]) -> PaymentFilters:
        status = params.get("status", "")
        if status not in LinkStatus.values:
            status = ""
        raw_project = params.get("project", "")
        project = int(raw_project) if raw_project.isdigit() and int(raw_project) in project_ids else None
        since, until = _day(params.get("from", "")), _day(params.get("to", ""))
        if since and until and since > until:
            since, until = until, since  # a range typed backwards is still the range meant
        return cls(status=status, project=project, q=params.get("q", "").strip()[:200], since=since, until=until)

    @property
    def active(self) -> bool:
        return bool(self.status or self.project or self.q or self.since or self.until)

    def as_query(self) -> str:
        values = {
            "status": self.status,
            "project": self.project or "",
            "q": self.q,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return urlencode({k: v for k, v in values.items() if v})

    def created_range(self) -> tuple[datetime | None, datetime | None]:
        """[start of `since`, start of the day after `until`) in the site's time zone."""
        tz = timezone.get_current_timezone()
        start = datetime.combine(self.since, time.min, tzinfo=tz) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=tz) if self.until else None
        return start, end


def with_transactions(links: QuerySet[PaymentLink]) -> QuerySet[PaymentLink]:
    """Prefetch every link's deposits (two queries for the whole page, not two per row);
    read them with link_transactions."""

    return links.prefetch_related(
        Prefetch("deposit_addresses__deposits", queryset=Deposit.objects.order_by("first_seen_at", "id"))
    )


def filtered_links(user, filters: PaymentFilters) -> QuerySet[PaymentLink]:
    """The user's links that the filters keep (no prefetch, no order: also for totals)."""
    links = links_for_user(user)
    start, end = filters.created_range()
    if start:
        links = links.filter(created_at__gte=start)
    if end:
        links = links.filter(created_at__lt=end)
    if filters.status:
        links = links.filter(status=filters.status)
    if filters.project:
        links = links.filter(project_id=filters.project)
    if filters.q:
        links = links.filter(Q(member__email__icontains=filters.q) | Q(description__icontains=filters.q))
    return links


def payments_for_user(user, filters: PaymentFilters) -> QuerySet[PaymentLink]:
    """All Payments: newest first, a fixed number of queries whatever the number of rows
    (links with project and member, then their deposit addresses and deposits)."""
    links = with_transactions(filtered_links(user, filters)).prefetch_related("refunds")
    return links.order_by("-created_at", "-id")


# Details that only repeat the status badge (Cancelled, Expired, Successful).
_SAID_BY_THE_STATUS = {Detail.CANCELLED, Detail.EXPIRED, Detail.PAID}


def status_detail_words(link: PaymentLink) -> str:
    """`status_detail` in words, where it says more than the status itself."""
    detail = link.status_detail or ""
    if detail in _SAID_BY_THE_STATUS:
        return ""
    if detail == Detail.PAID_SHORT and link.amount_short:
        return f"Paid, short by {amount_short(link)}"
    return DETAIL_LABELS.get(detail) or detail.replace("_", " ").capitalize()


def refund_words(link: PaymentLink) -> str:
    """'Refund sent: 0.0005 ETH' for the link's newest refund ('' without one); from the
    prefetch of payments_for_user when there is one."""
    found = sorted(link.refunds.all(), key=lambda r: (r.created_at, r.pk))
    if not found:
        return ""
    refund = found[-1]
    try:
        amount = f"{format_units(refund.amount, catalogue.get(refund.network).asset(refund.asset).decimals)} {refund.asset}"
    except KeyError:
        amount = f"{refund.amount} base units {refund.asset}"
    words = {"requested": "Refund requested", "address_given": "Refund address given", "sent": "Refund sent"}[refund.state]
    return f"{words}: {amount}" + (f" ({refund.sent_tx})" if refund.sent_tx else "")


def short_hash(tx_hash: str) -> str:
    """'0x3f9a1c…e41b07': enough to recognise a transaction, short enough for a table."""
    return tx_hash if len(tx_hash) <= 18 else f"{tx_hash[:8]}…{tx_hash[-6:]}"


def tx_url(network: str, tx_hash: str) -> str:
    """The network's explorer page for the transaction; '' where it has none (a devnet)."""
    try:
        return catalogue.get(network).tx_url(tx_hash)
    except KeyError:
        return ""


@dataclass(frozen=True)
class Transaction:
    """One recorded deposit of a link, as All Payments and the CSV export list it."""

    tx_hash: str
    network: str
    asset: str
    confirmations: int
    orphaned: bool
    counted: bool  # part of the amount received (same coin and network, still on chain)
    url: str

    @property
    def short_hash(self) -> str:
        return short_hash(self.tx_hash)

    @property
    def flag(self) -> str:
        if self.orphaned:
            return "orphaned"
        return "" if self.counted else "not counted"


def link_transactions(link: PaymentLink) -> list[Transaction]:
    """The link's deposits, oldest first, from the prefetch of with_transactions (no query
    when prefetched)."""
    pair = (link.received_network, link.received_asset)
    deposits = [d for address in link.deposit_addresses.all() for d in address.deposits.all()]
    deposits.sort(key=lambda d: (d.first_seen_at, d.id))
    return [
        Transaction(
            tx_hash=d.tx_hash,
            network=d.network,
            asset=d.asset,
            confirmations=d.confirmations,
            orphaned=d.orphaned,
            counted=not d.orphaned and (d.network, d.asset) == pair,
            url=tx_url(d.network, d.tx_hash),
        )
        for d in deposits
    ]


def transactions_csv(transactions: list[Transaction]) -> str:
    """'0xabc… ; 0xdef… (orphaned)': full hashes, flagged, for the CSV export."""
    return "; ".join(f"{t.tx_hash} ({t.flag})" if t.flag else t.tx_hash for t in transactions)


@dataclass(frozen=True)
class QuoteView:
    """The customer's current quote as the merchant's link page shows it."""

    quote: Quote
    network_name: str
    decimals: int | None  # None: the asset is no longer in the catalogue (amounts shown in base units)
    address: str
    address_url: str
    expired: bool

    @property
    def expires_at(self) -> datetime:
        return self.quote.expires_at


def quote_view(quote: Quote | None, *, now: datetime | None = None) -> QuoteView | None:
    if quote is None:
        return None
    address = quote.deposit_address.address
    try:
        net = catalogue.get(quote.network)
        name, decimals, address_url = net.name, net.asset(quote.asset).decimals, net.address_url(address)
    except KeyError:
        name, decimals, address_url = quote.network, None, ""
    return QuoteView(
        quote=quote,
        network_name=name,
        decimals=decimals,
        address=address,
        address_url=address_url,
        expired=quote.expires_at <= (now or timezone.now()),
    )


def amount_received_number(link: PaymentLink) -> str:
    """The received amount in whole coins ('12.5'), using the asset's decimals from the
    network catalogue; '' when nothing was received or the asset is no longer known."""
    if link.amount_received is None or not (link.received_network and link.received_asset):
        return ""
    try:
        decimals = catalogue.get(link.received_network).asset(link.received_asset).decimals
    except KeyError:
        return ""
    return format_units(link.amount_received, decimals)


def _coins_of_received_asset(units, link: PaymentLink) -> str:
    try:
        decimals = catalogue.get(link.received_network).asset(link.received_asset).decimals
    except KeyError:
        return f"{int(units)} base units {link.received_asset}".rstrip()
    return f"{format_units(units, decimals)} {link.received_asset}"


def amount_short(link: PaymentLink) -> str:
    """'0.000001 ETH': how far short a payment accepted as paid (detail paid_short) fell."""
    return _coins_of_received_asset(link.amount_short, link) if link.amount_short else ""


def amount_received(link: PaymentLink) -> str:
    """'12.5 USDC' for people; the exact base units when the asset is no longer configured."""
    if link.amount_received is None:
        return ""
    number = amount_received_number(link)
    if number:
        return f"{number} {link.received_asset}"
    return f"{link.amount_received} base units {link.received_asset}".rstrip()


def network_name(slug: str) -> str:
    if not slug:
        return ""
    try:
        return catalogue.get(slug).name
    except KeyError:
        return slug


def share_text(link: PaymentLink) -> str:
    amount = format_fiat(link.amount, link.currency)
    what = f" for {link.description}" if link.description else ""
    return f"Payment request from {link.project.name}: {amount}{what}"


def share_links(link: PaymentLink) -> dict[str, str]:
    """The standard share URLs, each pre-filled with amount, description and the public URL."""
    url = public_url(link)
    text = share_text(link)
    message = f"{text}\n{url}"
    subject = f"Payment request: {format_fiat(link.amount, link.currency)}"
    return {
        "url": url,
        "text": text,
        "whatsapp": "https://wa.me/?text=" + quote(message, safe=""),
        "telegram": "https://t.me/share/url?" + urlencode({"url": url, "text": text}, quote_via=quote),
        "sms": "sms:?&body=" + quote(message, safe=""),
        "email": f"mailto:{quote(link.member.email, safe='@')}?"
        + urlencode({"subject": subject, "body": f"{text}\n\nPay here: {url}\n"}, quote_via=quote),
    }


def coin_amount(units, network: str, asset: str) -> str | None:
    """Whole coins as a string ('25', '0.0015'); None when unknown (no units, or a
    network or coin this install no longer knows)."""
    if units is None:
        return None
    try:
        decimals = catalogue.get(network).asset(asset).decimals
    except KeyError:
        return None
    return format_units(int(units), decimals)
