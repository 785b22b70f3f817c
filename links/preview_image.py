"""The link-preview card image (/pay/<code>/preview.png), drawn on our server with Pillow:
who asks, how much, for what, and the QR of the pay page. Only what the pay page already
shows to anyone with the link; never the customer's email or a deposit address."""

from __future__ import annotations

import io
import os
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630  # what Open Graph and Twitter's summary_large_image expect (1.91:1)
MARGIN = 64
INK = (26, 34, 51)
MUTED = (91, 101, 119)
ACCENT = (59, 91, 219)
BADGES = {"Paid": (43, 138, 62), "Cancelled": (201, 42, 42), "Expired": (91, 101, 119)}

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu where the system has it (wide Unicode coverage), else the font Pillow ships."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text` cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, lines: int) -> list[str]:
    """Greedy word wrap to at most `lines` lines; an ellipsis says when text was left out."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=font) <= width:
            line = f"{line} {words.pop(0)}"
        out.append(_fit(draw, line, font, width))
    if words and out:
        out[-1] = _fit(draw, out[-1] + " …", font, width) if not out[-1].endswith("…") else out[-1]
    return out


@lru_cache(maxsize=512)
def preview_png(*, merchant: str, amount: str, description: str, badge: str, url: str) -> bytes:
    """The card as PNG bytes. Drawn once per distinct content (cached in the process)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 14), fill=ACCENT)

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    qr.box_size = max(1, 360 // (qr.modules_count + 4))  # whole pixels per module: crisp, scannable
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    side = code.size[0]
    qr_left = WIDTH - MARGIN - side
    image.paste(code, (qr_left, (HEIGHT - side) // 2))

    text_width = qr_left - MARGIN - 48
    y = 92
    draw.text((MARGIN, y), _fit(draw, merchant, _font(40, True), text_width), font=_font(40, True), fill=INK)
    y += 64
    draw.text((MARGIN, y), "asks you to pay", font=_font(30), fill=MUTED)
    y += 56
    amount_font = _font(84, True)
    draw.text((MARGIN, y), _fit(draw, amount, amount_font, text_width), font=amount_font, fill=INK)
    y += 120
    for line in _wrap(draw, description, _font(30), text_width, 3) if description else []:
        draw.text((MARGIN, y), line, font=_font(30), fill=INK)
        y += 42
    if badge:
        font = _font(28, True)
        box = draw.textbbox((0, 0), badge, font=font)
        w, h = box[2] - box[0] + 36, box[3] - box[1] + 22
        top = HEIGHT - MARGIN - h - 36
        draw.rounded_rectangle((MARGIN, top, MARGIN + w, top + h), radius=10, fill=BADGES.get(badge, MUTED))
        draw.text((MARGIN + 18, top + 11 - box[1]), badge, font=font, fill=(255, 255, 255))
    draw.text((MARGIN, HEIGHT - MARGIN - 20), "Pay in crypto · payram", font=_font(24), fill=MUTED)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
