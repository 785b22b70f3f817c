"""What members tells the rest of payram. members imports nothing of its listeners: they
connect here (links/notifications/ in its AppConfig.ready(): the email outbox; links in
links/receivers.py: a project's policy).

project_policy_changed(sender=Project, project=...) is sent, inside the saving
transaction, whenever a project's payment policy may have changed: its confirmation
thresholds (confirmation_overrides) or its underpayment tolerance. A link's status
depends on both, and pages only read, so the links app reruns its one writer for the
project's pending links. It is sent from Project's post_save, whoever saved it (the
project settings, the wallet page's thresholds, the admin), so no caller has to remember.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import Signal

from members.models import Project

# An owner invited someone to a project's team: kwargs invitation and url (the accept
# link with its token: it exists only now, the database keeps the token's hash).
# Sent inside the transaction that wrote the invitation.
invitation_created = Signal()

project_policy_changed = Signal()

POLICY_FIELDS = frozenset({"confirmation_overrides", "underpayment_tolerance"})


def _on_project_saved(sender, instance: Project, created: bool = False, update_fields=None, **kwargs) -> None:
    if created or kwargs.get("raw"):
        return  # a new project has no links; fixtures load facts, not changes
    if update_fields is not None and not POLICY_FIELDS & set(update_fields):
        return
    project_policy_changed.send(sender=Project, project=instance)


post_save.connect(_on_project_saved, sender=Project, dispatch_uid="members.project_policy_changed")
