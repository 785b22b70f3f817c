"""Reads for projects and members, always scoped to what the signed-in user may see:
projects they own (projects_for_user) or are on the team of (members.permissions).
Another merchant's object is not found, exactly like one that does not exist."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from members.models import Member, Project
from members.permissions import team_projects


def projects_for_user(user) -> QuerySet[Project]:
    """The projects `user` owns (owner-only pages ask this; staff pages ask team_projects)."""
    return Project.objects.filter(owners=user)


def project_for_user(user, pk: int | str) -> Project:
    return get_object_or_404(projects_for_user(user), pk=pk)


def projects_with_counts(user) -> QuerySet[Project]:
    """Every project of the user's teams, with is_owner saying which they own."""
    owned = Project.owners.through.objects.filter(project_id=OuterRef("pk"), user_id=user.pk)
    return team_projects(user, "view_team").annotate(
        member_count=Count("members", distinct=True),
        link_count=Count("links", distinct=True),
        is_owner=Exists(owned),
    )


def members_for_user(user, *, q: str = "", project: Project | None = None) -> QuerySet[Member]:
    members = Member.objects.filter(project__in=team_projects(user, "manage_members")).select_related("project")
    if project is not None:
        members = members.filter(project=project)
    q = q.strip()
    if q:
        members = members.filter(Q(email__icontains=q) | Q(name__icontains=q))
    return members.order_by("email", "id")


def member_for_user(user, pk: int | str) -> Member:
    return get_object_or_404(members_for_user(user), pk=pk)


def member_search(user, *, project: Project, q: str, limit: int = 8) -> list[Member]:
    """What the member picker suggests while the merchant types."""
    return list(members_for_user(user, q=q, project=project)[:limit])


def member_by_email(project: Project, email: str) -> Member | None:
    return Member.objects.filter(project=project, email__iexact=email.strip()).first()
