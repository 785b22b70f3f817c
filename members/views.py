"""Dashboard pages for projects and members. Thin: parse, call one service, render or redirect."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from members import branding, selectors, services
from members.forms import BrandingForm, MemberEditForm, MemberForm, ProjectEditForm, ProjectForm
from members.permissions import require_role, team_projects
from payram.lib.pagination import CappedPaginator

PAGE_SIZE = 50


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


# Projects


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(owner=request.user, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("members:projects")
    projects = selectors.projects_with_counts(request.user)
    return render(request, "members/projects.html", {"projects": projects, "form": form}, status=400 if form.errors else 200)


@require_role("edit_project")
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = request.project
    form = ProjectEditForm(
        request.POST or None,
        initial={
            "name": project.name,
            "return_url": project.return_url,
            "underpayment_tolerance": project.underpayment_tolerance,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.project_update(project=project, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” saved.")
        return redirect("members:projects")
    return render(request, "members/project_edit.html", {"project": project, "form": form}, status=400 if form.errors else 200)


@require_role("edit_project")
@require_http_methods(["GET", "POST"])
def project_branding(request: HttpRequest, pk: int) -> HttpResponse:
    """The project's look on the pay page and receipt: logo, brand colour, message. Owners only."""
    project = request.project
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={"brand_colour": project.brand_colour, "brand_message": project.brand_message},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        branding.set_branding(
            project=project,
            colour=data["brand_colour"],
            message=data["brand_message"],
            logo=data["logo"],
            remove_logo=data["remove_logo"] and not data["logo"],
        )
        messages.success(request, f"The look of “{project.name}” is saved.")
        return redirect("members:project_branding", pk=project.pk)
    context = {"project": project, "form": form, "brand": branding.brand_for(project)}
    return render(request, "members/project_branding.html", context, status=400 if form.errors else 200)


# Members


@login_required
@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    projects = team_projects(request.user, "manage_members")
    project = None
    project_id = request.GET.get("project", "")
    if project_id.isdigit():
        project = projects.filter(pk=project_id).first()
    q = request.GET.get("q", "")
    page = CappedPaginator(selectors.members_for_user(request.user, q=q, project=project), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "members/list.html",
        {"page": page, "projects": projects, "project": project, "q": q, "has_projects": projects.exists()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_create(request: HttpRequest) -> HttpResponse:
    projects = team_projects(request.user, "manage_members")
    initial = {"email": request.GET.get("email") or request.GET.get("member", ""), "project": request.GET.get("project") or None}
    # In the pop-up its fields must not take the ids of the page's own (two #id_project).
    auto_id = "new_member_%s" if request.htmx else "id_%s"
    form = MemberForm(request.POST or None, projects=projects, initial=initial, auto_id=auto_id)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_create(
                project=form.cleaned_data["project"], email=form.cleaned_data["email"], name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if request.htmx:
                # The Create Payment Link form listens for this, selects the member and closes the modal.
                response = HttpResponse("")
                response["HX-Trigger"] = json.dumps(
                    {"memberCreated": {"email": member.email, "project": member.project_id, "label": str(member)}}
                )
                return response
            messages.success(request, f"Member {member.email} added to {member.project.name}.")
            target = _safe_next(request)
            if target:
                sep = "&" if "?" in target else "?"
                return redirect(f"{target}{sep}project={member.project_id}&member={member.email}")
            return redirect("members:list")
    context = {"form": form, "next": _safe_next(request), "has_projects": projects.exists()}
    if request.htmx:  # htmx swaps only 2xx responses: the errors go back into the modal
        return render(request, "members/_member_form.html", context)
    return render(request, "members/create.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.member_for_user(request.user, pk)
    form = MemberEditForm.for_member(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_update(member=member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Member {member.email} saved.")
            return redirect("members:list")
    return render(request, "members/edit.html", {"member": member, "form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def member_search(request: HttpRequest) -> HttpResponse:
    """The picker on Create Payment Link: members of the chosen project matching what was typed."""
    q = request.GET.get("member", "").strip()
    project_id = request.GET.get("project", "")
    projects = team_projects(request.user, "manage_members")
    project = projects.filter(pk=project_id).first() if project_id.isdigit() else None
    results = selectors.member_search(request.user, project=project, q=q) if project else []
    exact = any(m.email == q.lower() for m in results)
    context = {"results": results, "q": q, "project": project, "exact": exact, "create_url": reverse("members:create")}
    return render(request, "members/_member_results.html", context)
