"""No self-service password reset by email: a merchant's password is reset by the server's
operator (`manage.py changepassword`). The reset pages that django.contrib.auth.urls
brought in (undocumented, unlimited, and answering measurably slower for known emails)
do not exist, so they can neither reveal who has an account nor flood a mailbox."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db

RESET_PATHS = [
    "/password_reset/",
    "/password_reset/done/",
    "/reset/MQ/set-password/",
    "/reset/done/",
]


@pytest.mark.parametrize("path", RESET_PATHS)
def test_reset_pages_do_not_exist(merchant, settings, path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    assert client.get(path).status_code == 404
    for _ in range(3):
        assert client.post(path, {"email": merchant.email}).status_code in (403, 404)
    assert mail.outbox == []


def test_no_reset_link_anywhere(merchant_client):
    for name in ("password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete"):
        with pytest.raises(NoReverseMatch):
            reverse(name, kwargs={"uidb64": "MQ", "token": "x"} if name == "password_reset_confirm" else None)
    sign_in = Client().get("/login/").content.decode()
    assert "manage.py changepassword" in sign_in
    assert "password_reset" not in Client().get("/admin/login/").content.decode()
    # Signed in, a merchant still changes their own password, and signs out.
    assert merchant_client.get("/password_change/").status_code == 200
    assert merchant_client.post("/logout/").status_code == 302


def test_the_operator_resets_a_password(merchant, monkeypatch):
    answers = iter(["a-New-passphrase-2026", "a-New-passphrase-2026"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("changepassword", merchant.username)
    assert Client().login(username=merchant.username, password="a-New-passphrase-2026")
