"""python manage.py createmerchant --username ana --email ana@example.com [--project "My Shop"] [--password-stdin]

Creates a merchant account (a staff-free, non-superuser login to the dashboard) and a
first project it owns. The password is prompted for, or read from standard input."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from members.services import project_create


class Command(BaseCommand):
    help = "Create a merchant account that can sign in to the dashboard, with a first project."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--project", default="My Shop", help="Name of the first project (default: My Shop).")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        parser.add_argument("--superuser", action="store_true", help="Also allow access to the Django admin at /admin/.")

    def handle(self, *args, username: str, email: str, project: str, password_stdin: bool, superuser: bool, **options) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        candidate = User(username=username, email=email)
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with transaction.atomic():
            if superuser:
                user = User.objects.create_superuser(username=username, email=email, password=password)
            else:
                user = User.objects.create_user(username=username, email=email, password=password)
            first = project_create(owner=user, name=project)
        self.stdout.write(self.style.SUCCESS(f"Merchant {username!r} created with project {first.name!r}. Sign in at /login/."))
