"""Reads for payment links, scoped to the signed-in merchant's projects."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from chain import catalogue
from links.models import LinkStatus, PaymentLink
from payram.lib.money import format_fiat, format_units


def public_url(link: PaymentLink) -> str:
    """Where the customer pays. Built from PAYRAM_BASE_URL so it is right behind a proxy."""
    return f"{settings.PAYRAM_BASE_URL.rstrip('/')}/pay/{link.code}/"


def links_for_user(user) -> QuerySet[PaymentLink]:
    return PaymentLink.objects.filter(project__owners=user).select_related("project", "member")


def link_for_user(user, code: str) -> PaymentLink:
    return get_object_or_404(links_for_user(user), code=code)


@dataclass(frozen=True)
class PaymentFilters:
    status: str = ""
    project: int | None = None
    q: str = ""

    @classmethod
    def from_query(cls, params, *, project_ids: set[int]) -> "PaymentFilters":
        status = params.get("status", "")
        if status not in LinkStatus.values:
            status = ""
        raw_project = params.get("project", "")
        project = int(raw_project) if raw_project.isdigit() and int(raw_project) in project_ids else None
        return cls(status=status, project=project, q=params.get("q", "").strip()[:200])

    @property
    def active(self) -> bool:
        return bool(self.status or self.project or self.q)

    def as_query(self) -> str:
        return urlencode({k: v for k, v in {"status": self.status, "project": self.project or "", "q": self.q}.items() if v})


def payments_for_user(user, filters: PaymentFilters) -> QuerySet[PaymentLink]:
    """All Payments: newest first, one query whatever the number of rows."""
    links = links_for_user(user)
    if filters.status:
        links = links.filter(status=filters.status)
    if filters.project:
        links = links.filter(project_id=filters.project)
    if filters.q:
        links = links.filter(Q(member__email__icontains=filters.q) | Q(description__icontains=filters.q))
    return links.order_by("-created_at", "-id")


STATUS_DETAIL_WORDS = {
    "awaiting_payment": "Awaiting payment",
    "cancelled": "",
    "expired": "",
    "paid": "",
}


def status_detail_words(link: PaymentLink) -> str:
    """`status_detail` in words, where it says more than the status itself."""
    detail = link.status_detail or ""
    if detail in STATUS_DETAIL_WORDS:
        return STATUS_DETAIL_WORDS[detail]
    return detail.replace("_", " ").capitalize()


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
        "email": "mailto:?" + urlencode({"subject": subject, "body": f"{text}\n\nPay here: {url}\n"}, quote_via=quote),
    }
