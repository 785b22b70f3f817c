"""Reads for projects and members, always scoped to what the signed-in merchant owns.
Another merchant's object is not found, exactly like one that does not exist."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from members.models import Member, Project


def projects_for_user(user) -> QuerySet[Project]:
    return Project.objects.filter(owners=user)


def project_for_user(user, pk: int | str) -> Project:
    return get_object_or_404(projects_for_user(user), pk=pk)


def projects_with_counts(user) -> QuerySet[Project]:
    return projects_for_user(user).annotate(
        member_count=Count("members", distinct=True), link_count=Count("links", distinct=True)
    )


def members_for_user(user, *, q: str = "", project: Project | None = None) -> QuerySet[Member]:
    members = Member.objects.filter(project__owners=user).select_related("project")
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
