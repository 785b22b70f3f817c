"""A project's look, served to the pay page (members.branding): its logo and its colour
stylesheet. Public, like the pay page, and they show nothing but the logo or the colour:
the URL is the logo's SHA-256 or the colour itself, so each answer never changes and is
cached for a year."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from members import branding

YEAR = 365 * 24 * 3600


def _immutable(request: HttpRequest, body: bytes, content_type: str, etag: str) -> HttpResponse:
    etag = f'"{etag}"'
    if etag in [t.strip() for t in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def project_logo(request: HttpRequest, sha256: str) -> HttpResponse:
    png = branding.logo_png(sha256)
    if png is None:
        return HttpResponse("No such logo.", status=404, content_type="text/plain; charset=utf-8")
    response = _immutable(request, png, "image/png", sha256)
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    return response


@require_safe
def project_theme(request: HttpRequest, colour: str) -> HttpResponse:
    try:
        if len(colour) != 6:
            raise ValidationError("not #rrggbb")
        css = branding.theme_css("#" + colour)
    except ValidationError:
        return HttpResponse("No such colour.", status=404, content_type="text/plain; charset=utf-8")
    return _immutable(request, css.encode(), "text/css; charset=utf-8", colour.lower())
