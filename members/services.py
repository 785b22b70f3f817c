"""Writes for projects and members. Keyword-only, atomic; bad input raises
ValidationError with field names so forms can show it where it belongs."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from members.models import ApiKey, Member, Project

DUPLICATE_MEMBER = "This project already has a member with this email."


@transaction.atomic
def project_create(*, owner, name: str, return_url: str = "") -> Project:
    project = Project.objects.create(name=name.strip(), return_url=return_url.strip())
    project.owners.add(owner)
    return project


@transaction.atomic
def project_update(*, project: Project, name: str, return_url: str = "", underpayment_tolerance=None) -> Project:
    """Rename, set the return URL and the underpayment tolerance. A new tolerance updates
    the project's pending links at once (members.signals.project_policy_changed)."""
    project.name = name.strip()
    project.return_url = return_url.strip()
    fields = ["name", "return_url"]
    if underpayment_tolerance is not None:
        project.underpayment_tolerance = underpayment_tolerance
        fields.append("underpayment_tolerance")
    project.save(update_fields=fields)
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


# API keys

API_KEY_PREFIX = "pk_live_"
API_KEY_SHOWN_CHARS = 8  # of the random part, kept in ApiKey.prefix so merchants can tell keys apart
_API_KEY_SHAPE = re.compile(r"^pk_live_[A-Za-z0-9_-]{20,100}$")


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def api_key_create(*, project: Project, name: str) -> tuple[ApiKey, str]:
    """A new key for the project. Returns the model and the full key: the only time the
    key exists outside the merchant's hands. Only its SHA-256 hash is stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the key a name, such as the shop or script that uses it."})
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        project=project,
        name=name,
        prefix=key[: len(API_KEY_PREFIX) + API_KEY_SHOWN_CHARS],
        key_hash=api_key_hash(key),
    )
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key: from now on it authenticates nothing. Revoking twice changes nothing."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(key: str) -> ApiKey | None:
    """The active key matching `key`, or None. Candidates are found by their shown prefix;
    the hashes are then compared in constant time."""
    if not isinstance(key, str) or not _API_KEY_SHAPE.match(key):
        return None
    presented = api_key_hash(key)
    prefix = key[: len(API_KEY_PREFIX) + API_KEY_SHOWN_CHARS]
    found = None
    for candidate in ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).select_related("project"):
        if hmac.compare_digest(candidate.key_hash, presented):
            found = candidate
    if found is not None:
        now = timezone.now()
        # One write a minute at most, however busy the key.
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=found.pk).update(last_used_at=now)
            found.last_used_at = now
    return found
