"""A project's own look (members.branding): what an owner may upload and choose, what the
customer's pay page and receipt then show, what the logo and colour URLs answer, and
that nobody but the project's owners can change it."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, PngImagePlugin

from members import branding
from members.models import ProjectLogo, TeamMember
from payram.lib.security import DEFAULT_CSP
from tests.links.pay_support import deposit, make_link, make_quote

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str = "PNG", size=(200, 80), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def url(project) -> str:
    return f"/members/projects/{project.pk}/branding/"


def post(client, project, *, logo=None, colour="", message="", **extra):
    data = {"brand_colour": colour, "brand_message": message, **extra}
    if logo is not None:
        data["logo"] = logo
    return client.post(url(project), data)


# Upload validation


def test_a_png_is_stored_re_encoded_without_its_metadata(merchant_client, project):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-metadata-marker")
    data = image_bytes(pnginfo=info) + b"trailing-payload-marker"
    response = post(merchant_client, project, logo=upload(data))
    assert response.status_code == 302
    logo = ProjectLogo.objects.get(project=project)
    stored = bytes(logo.png)
    assert stored.startswith(b"\x89PNG") and stored != data
    assert b"secret-metadata-marker" not in stored and b"trailing-payload-marker" not in stored
    assert (logo.width, logo.height) == (200, 80) and logo.sha256 == hashlib.sha256(stored).hexdigest()


def test_a_jpeg_and_a_webp_are_taken_as_png(merchant_client, project):
    for fmt, name in (("JPEG", "logo.jpg"), ("WEBP", "logo.webp")):
        assert post(merchant_client, project, logo=upload(image_bytes(fmt), name, f"image/{fmt.lower()}")).status_code == 302
        assert bytes(ProjectLogo.objects.get(project=project).png).startswith(b"\x89PNG")


def test_a_large_logo_is_scaled_down_to_what_the_page_shows(project):
    png, width, height = branding.clean_logo(upload(image_bytes(size=(1000, 1000))))
    assert (width, height) == (160, 160)
    assert Image.open(io.BytesIO(png)).size == (160, 160)


@pytest.mark.parametrize(
    "data, name, expected",
    [
        (b"x" * (256 * 1024 + 1), "big.png", "at most 256 KB"),
        (b"this is not an image at all", "notes.png", "not an image"),
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "SVG logos are not accepted",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "logo.png", "SVG logos are not accepted"),
        (image_bytes("GIF"), "logo.gif", "PNG, JPEG or WebP"),
        (image_bytes(size=(2000, 50)), "wide.png", "2000×50 pixels"),
        (image_bytes()[:60], "cut.png", "not an image"),
    ],
    ids=["too-big", "not-an-image", "svg", "svg-named-png", "gif", "huge-dimensions", "truncated"],
)
def test_a_bad_upload_is_refused_with_a_reason_and_nothing_is_stored(merchant_client, project, data, name, expected):
    response = post(merchant_client, project, logo=upload(data, name), colour="#1a7f37", message="Hello")
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not ProjectLogo.objects.exists()
    project.refresh_from_db()
    assert project.brand_colour == "" and project.brand_message == ""  # nothing half-saved


def test_a_decompression_bomb_is_refused_before_it_is_decoded(project):
    # A tiny file claiming 30000×30000 pixels: refused from its header alone.
    data = _bomb_png()
    with pytest.raises(ValidationError, match="1024×1024"):
        branding.clean_logo(upload(data))


def _bomb_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def test_the_logo_can_be_removed(merchant_client, project):
    post(merchant_client, project, logo=upload(image_bytes()))
    assert ProjectLogo.objects.filter(project=project).exists()
    assert post(merchant_client, project, remove_logo="on").status_code == 302
    assert not ProjectLogo.objects.filter(project=project).exists()


# Colour and message


@pytest.mark.parametrize(
    "colour, stored, ink", [("#1A7F37", "#1a7f37", "#ffffff"), ("ffd60a", "#ffd60a", "#15202b"), ("#fff", "#ffffff", "#15202b")]
)
def test_a_readable_colour_is_kept_with_the_text_colour_on_it(merchant_client, project, colour, stored, ink):
    assert post(merchant_client, project, colour=colour).status_code == 302
    project.refresh_from_db()
    assert project.brand_colour == stored
    css = Client().get(f"/pay/theme/{stored[1:]}.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    assert f"--brand: {stored}; --brand-ink: {ink};" in css.content.decode()


@pytest.mark.parametrize("colour", ["#808080", "#d9480f", "#3b82f6"])
def test_a_colour_no_text_reads_on_is_refused(merchant_client, project, colour):
    response = post(merchant_client, project, colour=colour)
    assert response.status_code == 400
    assert "hard to read" in response.content.decode()
    project.refresh_from_db()
    assert project.brand_colour == ""
    assert Client().get(f"/pay/theme/{colour[1:]}.css").status_code == 404


def test_contrast_follows_wcag():
    assert round(branding.contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(branding.contrast("#777777", "#ffffff"), 2) == 4.48
    for colour in ("#1a7f37", "#ffd60a", "#000000", "#ffffff"):
        assert branding.contrast(colour, branding.text_colour_on(colour)) >= 4.5


@pytest.mark.parametrize("colour", ["red", "#12345", "#ggg000", "javascript:1", "#12345678"])
def test_a_colour_that_is_not_rrggbb_is_refused(merchant_client, project, colour):
    response = post(merchant_client, project, colour=colour)
    assert response.status_code == 400
    assert "#rrggbb" in response.content.decode()


def test_a_message_longer_than_280_characters_is_refused(merchant_client, project):
    assert post(merchant_client, project, message="x" * 281).status_code == 400
    project.refresh_from_db()
    assert project.brand_message == ""


# The pay page and the receipt


@pytest.fixture
def branded(merchant_client, project):
    post(merchant_client, project, logo=upload(image_bytes()), colour="#1a7f37", message='Thanks! <script>alert("x")</script>')
    project.refresh_from_db()
    return project


def test_the_pay_page_shows_logo_colour_and_escaped_message_with_the_csp_unchanged(branded, member):
    link = make_link(branded, member)
    response = Client().get(f"/pay/{link.code}/")
    html = response.content.decode()
    sha = ProjectLogo.objects.get(project=branded).sha256
    assert f'src="/pay/logo/{sha}.png"' in html and 'width="120" height="48"' in html
    assert '<link rel="stylesheet" href="/pay/theme/1a7f37.css">' in html
    assert "Thanks! &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "style=" not in html  # the colour comes as a stylesheet, never an inline style
    assert response["Content-Security-Policy"] == DEFAULT_CSP


def test_an_unbranded_pay_page_is_as_before(project, member):
    html = Client().get(f"/pay/{make_link(project, member).code}/").content.decode()
    assert "/pay/logo/" not in html and "/pay/theme/" not in html and "brand-message" not in html


def test_the_receipt_shows_logo_and_message(branded, member, evm_address):
    link = make_link(branded, member)
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, amount_due=25_000_000)
    deposit(address, 25_000_000)
    response = Client().get(f"/pay/{link.code}/receipt/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/pay/logo/" in html and 'id="brand-message"' in html and "Thanks! &lt;script&gt;" in html
    assert response["Content-Security-Policy"] == DEFAULT_CSP


def test_the_served_logo_is_public_immutable_and_answers_if_none_match(branded):
    logo = ProjectLogo.objects.get(project=branded)
    visitor = Client()
    response = visitor.get(f"/pay/logo/{logo.sha256}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == bytes(logo.png)
    assert response["ETag"] == f'"{logo.sha256}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response and branded.name not in response.content.decode(errors="replace")
    again = visitor.get(f"/pay/logo/{logo.sha256}.png", HTTP_IF_NONE_MATCH=f'"{logo.sha256}"')
    assert again.status_code == 304 and again.content == b""
    assert visitor.get(f"/pay/logo/{'0' * 64}.png").status_code == 404
    assert visitor.get("/pay/logo/not-a-hash.png").status_code == 404
    assert visitor.post(f"/pay/logo/{logo.sha256}.png").status_code == 405


# Who may change it


def test_another_merchant_can_neither_see_nor_change_the_branding(branded, other_merchant):
    rival = Client()
    rival.force_login(other_merchant)
    assert rival.get(url(branded)).status_code == 404
    assert post(rival, branded, colour="#000000", message="pwned", remove_logo="on").status_code == 404
    branded.refresh_from_db()
    assert branded.brand_colour == "#1a7f37" and branded.brand_message.startswith("Thanks!")
    assert ProjectLogo.objects.filter(project=branded).exists()


def test_staff_cannot_change_the_branding(branded, other_merchant):
    TeamMember.objects.create(project=branded, user=other_merchant, role="staff")
    staff = Client()
    staff.force_login(other_merchant)
    assert staff.get(url(branded)).status_code == 403
    assert post(staff, branded, colour="#000000", message="staff was here").status_code == 403
    branded.refresh_from_db()
    assert branded.brand_colour == "#1a7f37" and "staff was here" not in branded.brand_message


def test_signed_out_visitor_is_sent_to_sign_in(project):
    response = Client().get(url(project))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_owner_sees_the_current_logo_on_the_settings_page(branded, merchant_client):
    html = merchant_client.get(url(branded)).content.decode()
    assert 'id="current-logo"' in html and "Remove the logo" in html and 'value="#1a7f37"' in html
