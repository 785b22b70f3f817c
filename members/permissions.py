"""Who may do what in a project: its owners everything, its staff the day-to-day work.

Every project-scoped page asks here, and the role is read from the database on every
request (never from the session), so removing someone from a team ends their access on
their next request. A project the user has no role in is not found (404), exactly like
one that does not exist; a project they are on, asked for something their role may not
do, is refused (403).

    owner  everything
    staff  create, share and cancel links, manage members (customers), see payments and
           the team; not wallets, keys, API keys, webhooks, thresholds, settle or refund
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from members.models import Project, Role, TeamMember

STAFF_ACTIONS = frozenset(
    {
        "view_payments",  # All Payments, a link's page, the CSV export
        "create_link",
        "share_link",  # QR code, email the link, resend its emails
        "cancel_link",
        "manage_members",  # the project's customers
        "view_team",
    }
)
OWNER_ACTIONS = STAFF_ACTIONS | {
    "edit_project",  # name, return URL, underpayment tolerance
    "manage_team",
    "wallets",  # account keys and confirmation thresholds
    "api_keys",
    "webhooks",
    "settle",
    "refund",
}
ACTIONS: dict[str, frozenset[str]] = {Role.OWNER: OWNER_ACTIONS, Role.STAFF: STAFF_ACTIONS}


def project_role(user, project: Project | int) -> str | None:
    """'owner', 'staff' or None: what `user` is on `project`, read now."""
    if user is None or not user.is_authenticated:
        return None
    project_id = project.pk if isinstance(project, Project) else int(project)
    if Project.owners.through.objects.filter(project_id=project_id, user_id=user.pk).exists():
        return Role.OWNER
    member = TeamMember.objects.filter(project_id=project_id, user_id=user.pk).values_list("role", flat=True).first()
    return member or None


def can(user, project: Project | int, action: str) -> bool:
    if action not in OWNER_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    role = project_role(user, project)
    return role is not None and action in ACTIONS.get(role, frozenset())


def team_projects(user, action: str = "view_payments") -> QuerySet[Project]:
    """The projects where `user` may do `action` (any role that allows it)."""
    if action not in OWNER_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated:
        return Project.objects.none()
    owned = Project.owners.through.objects.filter(user_id=user.pk).values("project_id")
    condition = Q(pk__in=owned)
    roles = [role for role, actions in ACTIONS.items() if action in actions and role != Role.OWNER]
    if roles:
        condition |= Q(pk__in=TeamMember.objects.filter(user_id=user.pk, role__in=roles).values("project_id"))
    return Project.objects.filter(condition)


def project_for(user, pk: int | str, action: str) -> Project:
    """The project `pk` if `user` may do `action` there: 404 when they have no role in it
    (or it does not exist), 403 when their role does not allow it."""
    project = Project.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    role = project_role(user, project) if project is not None else None
    if role is None:
        raise Http404("No such project")
    if action not in ACTIONS.get(role, frozenset()):
        raise PermissionDenied(f"Your role on {project.name} ({role}) does not allow this.")
    return project


def require_role(action: str, *, kwarg: str = "pk") -> Callable:
    """A signed-in view of one project (its id in the URL as `kwarg`) that needs `action`:
    the project is passed to the view as request.project."""

    def decorate(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            request.project = project_for(request.user, kwargs[kwarg], action)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
