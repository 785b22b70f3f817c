"""The dashboard home: what a merchant checks each morning (links.overview)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from links import overview, selectors
from members.permissions import team_projects


@login_required
@require_GET
def overview_page(request: HttpRequest) -> HttpResponse:
    """Read-only: a fixed number of queries whatever the number of links, no status refresh
    (the scanner and the expiry job keep the stored statuses current)."""
    now = timezone.now()
    projects = list(team_projects(request.user, "view_payments"))  # owner or staff: what All Payments shows
    links = selectors.links_for_user(request.user)
    attention = overview.needing_attention(links.prefetch_related("refunds"), now=now)
    context = {
        "projects": projects,
        "windows": overview.Windows.at(now),
        "received": overview.received_by_project(links, projects, now=now),
        "statuses": overview.status_counts(links),
        "attention": attention,
        "attention_rows": [
            {"link": link, "detail": selectors.status_detail_words(link), "refund": selectors.refund_words(link)}
            for link in attention.links
        ],
        "charts": overview.payments_chart(links, now=now),
        "chart_days": overview.CHART_DAYS,
        "paid_late_days": overview.PAID_LATE_DAYS,
    }
    return render(request, "links/overview.html", context)
