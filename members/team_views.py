"""The Team page of a project (owners invite, change roles, remove; staff read) and the
invitation link /invite/<token>/ (signs a new account up, or adds the signed-in one)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from members import team
from members.forms import InviteForm, InviteSignupForm
from members.models import Invitation, Role
from members.permissions import can, project_for, require_role
from payram.lib import ratelimit


def _team_page(request: HttpRequest, form: InviteForm, *, new_url: str = "", status: int = 200) -> HttpResponse:
    project = request.project
    context = {
        "project": project,
        "form": form,
        "team": team.team_of(project),
        "owner_count": project.owners.count(),  # the last owner cannot be removed: no buttons
        "invitations": team.pending_invitations(project),
        "can_manage": can(request.user, project, "manage_team"),
        "roles": Role.choices,
        "new_url": new_url,
    }
    response = render(request, "members/team.html", context, status=status)
    if new_url:
        response["Cache-Control"] = "no-store"  # the only copy of the accept link
    return response


@require_role("view_team")
@require_http_methods(["GET", "POST"])
def project_team(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: who is on the team. POST (owners): invite an address with a role; the accept
    link is on this answer only (like an API key), and emailed when email is on."""
    if request.method == "POST":
        request.project = project_for(request.user, pk, "manage_team")  # staff may look, not invite
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                invitation, url = team.invitation_create(
                    project=request.project,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except team.TeamRefused as exc:
                form.add_error("email", str(exc))
            else:
                return _team_page(request, InviteForm(), new_url=url)
        return _team_page(request, form, status=400)
    return _team_page(request, InviteForm())


@require_role("manage_team")
@require_POST
def project_team_role(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        team.team_role_change(project=request.project, user=user, role=request.POST.get("role", ""), changed_by=request.user)
    except team.TeamRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{user.get_username()} is now {request.POST.get('role')} of {request.project.name}.")
    return redirect("members:project_team", pk=request.project.pk)


@require_role("manage_team")
@require_POST
def project_team_remove(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        team.team_member_remove(project=request.project, user=user)
    except team.TeamRefused as exc:
        messages.error(request, str(exc))
        return redirect("members:project_team", pk=request.project.pk)
    messages.success(request, f"{user.get_username()} was removed from {request.project.name}. Their access ended now.")
    if user == request.user:
        return redirect("members:projects")
    return redirect("members:project_team", pk=request.project.pk)


@require_role("manage_team")
@require_POST
def project_invitation_revoke(request: HttpRequest, pk: int, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, project=request.project, pk=invitation_id)
    team.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn: its link no longer works.")
    return redirect("members:project_team", pk=request.project.pk)


@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone holding the link: a new address signs up here; the signed-in account with
    the invited address joins with one button; any other account is told to sign out."""
    verdict = ratelimit.check(("invite_ip", ratelimit.client_ip(request)))
    if not verdict.allowed:
        response = render(request, "members/invite.html", {"limited": verdict.retry_after}, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    invitation = team.invitation_by_token(token)
    if invitation is None:
        return render(request, "members/invite.html", {"invalid": True}, status=404)
    User = get_user_model()
    account_exists = User.objects.filter(email__iexact=invitation.email).exists()
    signed_in = request.user.is_authenticated
    matches = signed_in and (request.user.email or "").strip().lower() == invitation.email
    form = None
    error = ""
    if not signed_in and not account_exists:
        form = InviteSignupForm(request.POST or None, initial={"username": invitation.email.split("@")[0]})
    if request.method == "POST":
        accepted = None
        try:
            if matches:
                accepted = team.invitation_accept(token=token, user=request.user)
            elif form is not None and form.is_valid():
                with transaction.atomic():  # the new account and its place on the team, or neither
                    user = form.save(commit=False)
                    user.email = invitation.email
                    user.save()
                    accepted = team.invitation_accept(token=token, user=user)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except team.TeamRefused as exc:
            error = str(exc)
        if accepted is not None:
            messages.success(request, f"Welcome to {accepted.project.name}. You are {accepted.get_role_display().lower()} here.")
            return redirect("links:all_payments")
    context = {
        "invitation": invitation,
        "form": form,
        "signed_in": signed_in,
        "matches": matches,
        "account_exists": account_exists,
        "error": error,
        "login_url": f"{reverse('login')}?next={request.path}",
    }
    return render(request, "members/invite.html", context, status=400 if request.method == "POST" else 200)
