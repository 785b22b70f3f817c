"""What a payment link looks like outside payram: the link-preview tags and image a chat
app shows, and the snippets a merchant pastes into an email, a web page or a Markdown
document (docs/link-sharing.md). Pure reads: nothing here writes a row.

Everything shown is what the pay page already shows to anyone with the link (project
name, amount, description, whether it is paid or closed), never the customer's email or
a deposit address."""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.http import HttpRequest
from django.utils.html import escape

from links.models import LinkStatus, PaymentLink
from links.selectors import public_url
from payram.lib.money import format_fiat

# User agents of the crawlers that fetch a link to draw its card. Apple's (iMessage) and
# many others say facebookexternalhit or Twitterbot; WhatsApp and Signal fetch from the
# sender's phone with their own names.
PREVIEW_CRAWLERS = re.compile(
    r"facebookexternalhit|facebot|whatsapp|telegrambot|twitterbot|slackbot|slack-imgproxy|discordbot|linkedinbot"
    r"|skypeuripreview|microsoftpreview|applebot|redditbot|embedly|pinterest|vkshare|iframely|mastodon"
    r"|viber|kakaotalk-scrap|bitlybot",
    re.IGNORECASE,
)

BADGES = {LinkStatus.SUCCESSFUL: "Paid", LinkStatus.CANCELLED: "Cancelled", LinkStatus.EXPIRED: "Expired"}


def is_preview_crawler(request: HttpRequest) -> bool:
    return bool(PREVIEW_CRAWLERS.search(request.META.get("HTTP_USER_AGENT", "")[:512]))


def absolute(request: HttpRequest | None, path: str) -> str:
    """An absolute URL of ours: PAYRAM_BASE_URL (right behind a proxy), else the request's host."""
    base = (settings.PAYRAM_BASE_URL or "").rstrip("/")
    if base:
        return base + path
    return request.build_absolute_uri(path) if request is not None else path


def badge(link: PaymentLink) -> str:
    """'Paid', 'Cancelled', 'Expired' or '' (still open), from the stored status."""
    return BADGES.get(link.status, "")


def title(link: PaymentLink) -> str:
    return f"Pay {format_fiat(link.amount, link.currency)} to {link.project.name}"


def summary(link: PaymentLink) -> str:
    """One line for the card: the description, or who asks for how much."""
    words = " ".join(link.description.split())
    if words:
        return words if len(words) <= 200 else words[:199].rstrip() + "…"
    return f"Payment request from {link.project.name}: {format_fiat(link.amount, link.currency)}"


def preview_content(link: PaymentLink) -> dict[str, str]:
    """What the preview image shows (also its cache key)."""
    return {
        "merchant": link.project.name,
        "amount": format_fiat(link.amount, link.currency),
        "description": " ".join(link.description.split()),
        "badge": badge(link),
        "url": public_url(link),
    }


def preview_version(link: PaymentLink) -> str:
    """Changes when the image would: chat apps cache images by URL."""
    content = preview_content(link)
    return hashlib.sha256("\x00".join(content[k] for k in sorted(content)).encode()).hexdigest()[:12]


def preview_meta(link: PaymentLink, request: HttpRequest | None = None) -> dict[str, str]:
    """Open Graph and Twitter card values for the pay page's <head>."""
    state = badge(link)
    return {
        "site_name": link.project.name,
        "title": f"{title(link)} ({state})" if state else title(link),
        "description": summary(link),
        "url": public_url(link),
        "image": absolute(request, f"/pay/{link.code}/preview.png?v={preview_version(link)}"),
        "image_alt": f"{link.project.name} asks for {format_fiat(link.amount, link.currency)}" + (f": {state}" if state else ""),
    }


# The button: a table cell with bgcolor (Outlook ignores padding and background on <a>),
# inline styles only, no class, no script and no image, so email clients and any site's
# CSP show it as drawn.
_BUTTON = (
    '<table role="presentation" border="0" cellspacing="0" cellpadding="0" style="border-collapse:separate;">'
    '<tr><td align="center" bgcolor="#3b5bdb" style="border-radius:6px;background-color:#3b5bdb;">'
    '<a href="{url}" target="_blank" rel="noopener" style="display:inline-block;padding:12px 24px;'
    "font-family:Arial,Helvetica,sans-serif;font-size:16px;font-weight:bold;line-height:20px;color:#ffffff;"
    'text-decoration:none;border-radius:6px;background-color:#3b5bdb;">{label}</a>'
    "</td></tr></table>"
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def embed_snippets(link: PaymentLink, request: HttpRequest | None = None) -> dict[str, str]:
    """The Embed panel: an HTML button, a Markdown link and the hosted QR images."""
    url = public_url(link)
    label = f"Pay {format_fiat(link.amount, link.currency)} with crypto"
    qr_png = absolute(request, f"/pay/{link.code}/qr.png")
    return {
        "label": label,
        "html_button": _BUTTON.format(url=escape(url), label=escape(label)),
        "markdown": f"[{markdown_text(title(link))}]({url})",
        "qr_png": qr_png,
        "qr_svg": absolute(request, f"/pay/{link.code}/qr.svg"),
        "qr_img": f'<a href="{escape(url)}"><img src="{escape(qr_png)}" width="232" height="232" alt="{escape(title(link))}"></a>',
    }
