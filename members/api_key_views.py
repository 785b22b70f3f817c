"""Dashboard pages for a project's API keys: list, create (the key is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from members import services
from members.forms import ApiKeyForm
from members.models import ApiKey
from members.permissions import require_role


def _page(request: HttpRequest, project, form: ApiKeyForm, *, new_key: str = "", status: int = 200) -> HttpResponse:
    context = {
        "project": project,
        "form": form,
        "keys": ApiKey.objects.filter(project=project),
        "new_key": new_key,
    }
    response = render(request, "members/api_keys.html", context, status=status)
    if new_key:
        response["Cache-Control"] = "no-store"  # the only copy of the key: keep it out of caches
    return response


@require_role("api_keys")
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, pk: int) -> HttpResponse:
    """GET lists the keys; POST creates one and shows it on this answer only (it is not
    stored anywhere, so it is not redirected through the session)."""
    project = request.project
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, key = services.api_key_create(project=project, name=form.cleaned_data["name"])
        return _page(request, project, ApiKeyForm(), new_key=key)
    return _page(request, project, form, status=400 if form.errors else 200)


@require_role("api_keys")
@require_POST
def api_key_revoke(request: HttpRequest, pk: int, key_id: int) -> HttpResponse:
    project = request.project
    api_key = get_object_or_404(ApiKey, project=project, pk=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"API key “{api_key.name}” revoked. Requests using it now get 401.")
    return redirect("members:api_keys", pk=project.pk)
