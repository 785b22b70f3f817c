import subprocess
import sys

import pytest

from payram.lib.env import ConfigError, envbool, envint, envurl, redact_url


def test_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ConfigError, match="DEBUG"):
        envbool("DEBUG")


def test_bad_integer_and_range(monkeypatch):
    monkeypatch.setenv("PAYRAM_QUOTE_MINUTES", "ten")
    with pytest.raises(ConfigError, match="whole number"):
        envint("PAYRAM_QUOTE_MINUTES", 15)
    monkeypatch.setenv("PAYRAM_QUOTE_MINUTES", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        envint("PAYRAM_QUOTE_MINUTES", 15, minimum=1)


def test_malformed_url_is_refused_without_leaking_credentials(monkeypatch):
    monkeypatch.setenv("PAYRAM_BASE_URL", "ftp://user:hunter2@example.com")
    with pytest.raises(ConfigError) as err:
        envurl("PAYRAM_BASE_URL")
    assert "hunter2" not in str(err.value)
    assert redact_url("http://rpcuser:rpcpass@127.0.0.1:8332") == "http://***@127.0.0.1:8332"
    assert redact_url("https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161") == "https://mainnet.infura.io/v3/***"
    assert redact_url("https://node.example/rpc?apikey=s3cr3t") == "https://node.example/rpc?***"
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"


def test_production_refuses_to_start_without_secret_key():
    env = {"DEBUG": "false", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='payram.settings'; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
