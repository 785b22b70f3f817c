"""QR codes of a link's public URL, drawn on the server (no third-party service sees the URL)."""

from __future__ import annotations

import io
import re
from functools import lru_cache

import qrcode
import qrcode.image.svg
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    return code


@lru_cache(maxsize=2048)
def _svg(data: str) -> str:
    svg = _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    svg = re.sub(r'\swidth="[^"]*"\s+height="[^"]*"', "", svg, count=1)  # let CSS size it
    return svg


def qr_svg(data: str, *, title: str = "QR code") -> SafeString:
    """Inline SVG markup. Safe to embed: the markup is ours and `data` only becomes path geometry.
    Drawn once per distinct payload (a quote's URI changes only with its amount): drawing
    took most of a pay page's time, on every reload and poll (bench/). Its label is in
    the active language (the customer's on the pay page)."""
    label = escape(gettext("QR code of the payment link"))
    return mark_safe(_svg(data).replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    _qr(data).make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


@lru_cache(maxsize=2048)
def qr_svg_document(data: str, *, module_px: int = 8) -> str:
    """A standalone SVG file (white background, pixel size set) for an <img> on another
    site or in an email: the hosted /pay/<code>/qr.svg."""
    svg = _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    side = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])
    svg = re.sub(r'\swidth="[^"]*"\s+height="[^"]*"', f' width="{side * module_px}" height="{side * module_px}"', svg, count=1)
    svg = re.sub(r"(<svg[^>]*>)", r'\1<rect width="100%" height="100%" fill="#ffffff"/>', svg, count=1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg
