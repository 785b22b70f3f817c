"""Writes for projects and members. Keyword-only, atomic; bad input raises
ValidationError with field names so forms can show it where it belongs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from members.models import Member, Project

DUPLICATE_MEMBER = "This project already has a member with this email."


@transaction.atomic
def project_create(*, owner, name: str, return_url: str = "") -> Project:
    project = Project.objects.create(name=name.strip(), return_url=return_url.strip())
    project.owners.add(owner)
    return project


@transaction.atomic
def project_update(*, project: Project, name: str, return_url: str = "") -> Project:
    project.name = name.strip()
    project.return_url = return_url.strip()
    project.save(update_fields=["name", "return_url"])
    return project


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def member_create(*, project: Project, email: str, name: str = "") -> Member:
    email = _normalise_email(email)
    if Member.objects.filter(project=project, email__iexact=email).exists():
        raise ValidationError({"email": DUPLICATE_MEMBER})
    try:
        with transaction.atomic():
            return Member.objects.create(project=project, email=email, name=name.strip())
    except IntegrityError:  # a concurrent create won the race
        raise ValidationError({"email": DUPLICATE_MEMBER}) from None


def member_update(*, member: Member, email: str, name: str = "") -> Member:
    email = _normalise_email(email)
    if Member.objects.filter(project=member.project_id, email__iexact=email).exclude(pk=member.pk).exists():
        raise ValidationError({"email": DUPLICATE_MEMBER})
    member.email = email
    member.name = name.strip()
    try:
        with transaction.atomic():
            member.save(update_fields=["email", "name"])
    except IntegrityError:
        raise ValidationError({"email": DUPLICATE_MEMBER}) from None
    return member
