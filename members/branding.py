"""A project's own look on the pay page and receipt: a logo, a brand colour and a short
message. Set by the project's owners (members.views.project_branding).

The logo: a real PNG, JPEG or WebP (SVG and anything else refused), at most LOGO_MAX_BYTES
and LOGO_MAX_SIDE pixels a side, decoded by Pillow and re-encoded as a PNG no larger than
LOGO_STORED_BOX: no metadata, no second payload, nothing but pixels. Served at
/pay/logo/<sha256>.png (public: it shows nothing but the logo), cached for a year.

The colour: #rrggbb, painted behind button text; the text on it is white or the page's
ink, whichever contrasts more, and a colour where neither reaches WCAG's 4.5:1 is
refused. It reaches the page as a small stylesheet, /pay/theme/<rrggbb>.css, so the
Content-Security-Policy (style-src 'self', no inline styles) stays as it is."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from members.models import Project, ProjectLogo

LOGO_MAX_BYTES = 256 * 1024
LOGO_MAX_SIDE = 1024
LOGO_STORED_BOX = (480, 160)  # shown at most 160×48 CSS px: three times that for sharp phones
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}
MESSAGE_MAX = 280
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text

WHITE = "#ffffff"
INK = "#15202b"  # static/css/pay.css --ink: the dark text the pay page writes with
DEFAULT_LINK = "#2151d1"  # pay.css --brand: links where the brand colour is too light for text on white
_HEX = re.compile(r"#[0-9a-f]{6}")


# Colour


def normalise_colour(value: str) -> str:
    """'#RRGGBB', 'rrggbb' or '#rgb' -> '#rrggbb'; '' stays ''. ValidationError otherwise."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    if not value.startswith("#"):
        value = "#" + value
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if not _HEX.fullmatch(value):
        raise ValidationError("Enter a colour as #rrggbb, such as #1a7f37.", code="invalid")
    return value


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_on(colour: str) -> str:
    """White or the page's ink, whichever reads better on `colour`; ValidationError when
    neither reaches MIN_CONTRAST (mid tones such as #808080)."""
    best = max((WHITE, INK), key=lambda text: contrast(colour, text))
    ratio = contrast(colour, best)
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            "Text on %(colour)s would be hard to read: neither white nor dark text reaches a contrast of 4.5:1 "
            "(best %(ratio).1f:1). Choose a darker or a lighter shade.",
            code="low_contrast",
            params={"colour": colour, "ratio": ratio},
        )
    return best


def theme_css(colour: str) -> str:
    """The stylesheet /pay/theme/<rrggbb>.css: the pay page's brand variables."""
    colour = normalise_colour(colour)
    ink = text_colour_on(colour)
    link = colour if contrast(colour, WHITE) >= MIN_CONTRAST else DEFAULT_LINK
    return (
        "/* payram: a project's brand colour (members.branding) */\n"
        f":root {{ --brand: {colour}; --brand-ink: {ink}; --link: {link}; }}\n"
        ".card.branded { border-top: 6px solid var(--brand); }\n"
    )


# Logo


def clean_logo(upload) -> tuple[bytes, int, int]:
    """The PNG to store for an uploaded file, with its width and height; ValidationError
    saying what is wrong otherwise. `upload` is a Django UploadedFile (or any file with
    .size and .read())."""
    size = getattr(upload, "size", None)
    if size is None or size > LOGO_MAX_BYTES:
        raise ValidationError(
            "The logo is too large: upload an image of at most %(kb)d KB.",
            code="too_large",
            params={"kb": LOGO_MAX_BYTES // 1024},
        )
    data = upload.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            "The logo is too large: upload an image of at most %(kb)d KB.", code="too_large", params={"kb": 256}
        )
    head = data[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        raise ValidationError("SVG logos are not accepted (they can carry scripts): upload a PNG, JPEG or WebP.", code="svg")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in LOGO_FORMATS:
                raise ValidationError("Upload the logo as a PNG, JPEG or WebP image.", code="format")
            width, height = image.size  # from the header, before anything is decoded
            if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE or width < 1 or height < 1:
                raise ValidationError(
                    "The logo is %(w)d×%(h)d pixels: at most %(max)d×%(max)d, please.",
                    code="dimensions",
                    params={"w": width, "h": height, "max": LOGO_MAX_SIDE},
                )
            image.load()  # decodes every pixel: a truncated or broken file fails here
            pixels = image.convert("RGBA")
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, from the header: far past our limit
        raise ValidationError(
            "The logo has far too many pixels: at most %(max)d×%(max)d, please.", code="dimensions", params={"max": LOGO_MAX_SIDE}
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(
            "That file is not an image payram can read: upload a PNG, JPEG or WebP.", code="not_image"
        ) from None
    pixels.thumbnail(LOGO_STORED_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)  # a fresh PNG: no EXIF, text chunks or trailing bytes
    return out.getvalue(), pixels.width, pixels.height


# Stored


def set_branding(
    *, project: Project, colour: str, message: str, logo: tuple[bytes, int, int] | None = None, remove_logo: bool = False
) -> Project:
    """Save the project's look: colour and message always, the logo when one is given
    (replacing the old one), none when remove_logo."""
    colour = normalise_colour(colour)
    if colour:
        text_colour_on(colour)  # refuses an unreadable colour here too, not only in the form
    message = " ".join((message or "").split())[:MESSAGE_MAX]
    with transaction.atomic():
        project.brand_colour = colour
        project.brand_message = message
        project.save(update_fields=["brand_colour", "brand_message"])
        if remove_logo:
            ProjectLogo.objects.filter(project=project).delete()
        elif logo is not None:
            png, width, height = logo
            ProjectLogo.objects.update_or_create(
                project=project,
                defaults={
                    "png": png,
                    "content_type": "image/png",
                    "sha256": hashlib.sha256(png).hexdigest(),
                    "width": width,
                    "height": height,
                },
            )
    return project


@dataclass(frozen=True)
class Brand:
    """What the pay page and receipt need to show a project's look."""

    colour: str = ""
    message: str = ""
    logo_url: str = ""
    logo_width: int = 0
    logo_height: int = 0

    @property
    def css_url(self) -> str:
        return reverse("pay:theme", args=[self.colour[1:]]) if self.colour else ""

    @property
    def logo_display(self) -> tuple[int, int]:
        """The logo's size in CSS pixels (width/height attributes: no jump when it loads)."""
        if not self.logo_width:
            return 0, 0
        scale = min(1.0, 48 / self.logo_height, 160 / self.logo_width)
        return max(1, round(self.logo_width * scale)), max(1, round(self.logo_height * scale))


def brand_for(project: Project) -> Brand:
    logo = ProjectLogo.objects.filter(project=project).values("sha256", "width", "height").first()
    return Brand(
        colour=project.brand_colour,
        message=project.brand_message,
        logo_url=reverse("pay:logo", args=[logo["sha256"]]) if logo else "",
        logo_width=logo["width"] if logo else 0,
        logo_height=logo["height"] if logo else 0,
    )


def logo_png(sha256: str) -> bytes | None:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        return None
    png = ProjectLogo.objects.filter(sha256=sha256).values_list("png", flat=True).first()
    return bytes(png) if png is not None else None
