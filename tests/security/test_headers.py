"""Security headers on every kind of page, and `manage.py check --deploy` clean with the
production settings .env.example documents."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from payram.lib.security import DEFAULT_CSP

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/pay/no-such-code/", "/healthz", "/admin/login/", "/payments/"])
def test_headers_on_every_kind_of_page(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == DEFAULT_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_policy_allows_only_our_own_scripts_and_styles():
    directives = dict(d.strip().split(" ", 1) for d in DEFAULT_CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in DEFAULT_CSP
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in _env_example().items() if v}  # blanks are "fill me in" (SECRET_KEY)
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        HOME=os.environ.get("HOME", "/tmp"),
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=os.environ.get("DATABASE_URL", ""),
        PAYRAM_VAR_DIR=os.environ.get("PAYRAM_VAR_DIR", str(ROOT / "var")),
    )
    assert env["DEBUG"] == "false"
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = _check_deploy(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_wants_an_https_base_url():
    result = _check_deploy(_production_env(PAYRAM_BASE_URL="http://pay.example.com"))
    assert result.returncode != 0 and "payram.E002" in result.stderr + result.stdout
    env = _production_env()
    del env["PAYRAM_BASE_URL"]
    result = _check_deploy(env)
    assert result.returncode != 0 and "payram.E001" in result.stderr + result.stdout


def test_check_deploy_notices_insecure_cookies():
    result = _check_deploy(_production_env(SESSION_COOKIE_SECURE="false"))
    assert result.returncode != 0 and "security.W012" in result.stderr + result.stdout


def test_production_settings_are_secure(settings):
    """What the production settings module sets, read in a subprocess (DEBUG is on here)."""
    code = (
        "import django, os, json; os.environ['DJANGO_SETTINGS_MODULE']='payram.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.PAYRAM_TRUSTED_PROXIES]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    import json

    secure, csrf_secure, httponly, hsts, redirect, proxy_header, proxies = json.loads(result.stdout)
    assert secure and csrf_secure and httponly and redirect
    assert hsts >= 31536000
    assert proxy_header == ["HTTP_X_FORWARDED_PROTO", "https"] and proxies == 1


@pytest.mark.django_db
def test_hsts_only_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    assert "Strict-Transport-Security" not in client.get("/login/")
    assert client.get("/login/", secure=True)["Strict-Transport-Security"].startswith("max-age=31536000")


def test_malformed_rate_limits_stop_start_up():
    env = dict(os.environ, PAYRAM_RATE_LIMITS="pay_quote_ip=lots")
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='payram.settings'; django.setup()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "PAYRAM_RATE_LIMITS" in result.stderr
