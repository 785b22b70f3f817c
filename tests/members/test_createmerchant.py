import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_createmerchant_makes_a_user_who_can_sign_in_with_a_project(client, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-pass-phrase-42\n"))
    out = io.StringIO()
    call_command(
        "createmerchant",
        "--username",
        "ana",
        "--email",
        "ana@example.com",
        "--project",
        "Ana's Shop",
        "--password-stdin",
        stdout=out,
    )
    assert "Merchant 'ana' created" in out.getvalue()
    assert client.login(username="ana", password="a-long-pass-phrase-42")
    assert "Ana&#x27;s Shop" in client.get("/members/projects/").content.decode()


def test_createmerchant_refuses_a_weak_password(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("createmerchant", "--username", "ana", "--password-stdin")
    assert not get_user_model().objects.exists()
