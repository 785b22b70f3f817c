"""The network health page: is every enabled network being watched? htmx polls re-render
just the table fragment; the page also works as a plain link."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from chain.health import network_health

REFRESH_SECONDS = 10


@login_required
def health(request: HttpRequest) -> HttpResponse:
    rows = network_health()
    context = {
        "rows": rows,
        "stalled_names": [r.name for r in rows if r.stalled],
        "checked_at": timezone.now(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    template = "chain/_health_table.html" if getattr(request, "htmx", False) else "chain/health.html"
    return render(request, template, context)
