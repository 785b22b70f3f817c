"""docs/settings.md is the settings reference an operator reads: every variable payram
reads is there, nothing listed there is ignored, .env.example names only real ones, and the
environment is read in one place (payram/settings.py)."""

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

from chain import catalogue, scanner
from chain.adapters import adapter_for

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "payram" / "settings.py"
DOC = ROOT / "docs" / "settings.md"
ENV_EXAMPLE = ROOT / ".env.example"
SLUG = "<SLUG>"


def settings_reads() -> set[str]:
    """Names settings.py reads: env*("NAME", …) and `"NAME" in os.environ`."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("env"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and "environ" in ast.unparse(node):
            names.add(node.left.value)
    return names


class RecordingEnvironment(dict):
    """PAYRAM_NETWORK_ENV that remembers every name looked up in it."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.asked.add(name)
        return super().__getitem__(name)

    def __contains__(self, name):
        self.asked.add(name)
        return super().__contains__(name)


def network_templates(settings) -> set[str]:
    """The per-network names the code looks up (catalogue, scanner, adapters), with the
    network's slug written <SLUG>."""
    recording, original = RecordingEnvironment(), settings.PAYRAM_NETWORK_ENV
    settings.PAYRAM_NETWORK_ENV = recording
    settings.PAYRAM_CHAINS_FILE = ""
    try:
        networks = catalogue.reload()
        for network in networks.values():
            scanner.start_height(network, 1000)
            adapter_for(replace(network, rpc_url="http://127.0.0.1:9"))
    finally:
        settings.PAYRAM_NETWORK_ENV = original
        catalogue.reload()
    templates = set()
    for name in recording.asked:
        for slug in sorted(networks, key=len, reverse=True):
            upper = slug.upper().replace("-", "_")
            found = re.fullmatch(rf"(.*)_{upper}(_[A-Z_]+)?", name)  # the rightmost: PAYRAM_TRON_API_KEY_TRON
            if found:
                templates.add(f"{found[1]}_{SLUG}{found[2] or ''}")
                break
        else:
            pytest.fail(f"{name} is looked up in PAYRAM_NETWORK_ENV but names no network")
    return templates


def documented() -> set[str]:
    """The variables in the first column of docs/settings.md's tables."""
    names = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_<>]*)`", first_cell))
    return names


def test_every_variable_settings_reads_is_documented_and_nothing_more(settings):
    read = settings_reads() | network_templates(settings)
    assert "PAYRAM_RPC_<SLUG>" in read and "PAYRAM_TRON_API_KEY_<SLUG>" in read  # the walk sees the real reads
    docs = documented()
    assert read - docs == set(), "read by payram but missing from docs/settings.md"
    assert docs - read == set(), "listed in docs/settings.md but read nowhere"


def test_env_example_names_only_real_variables(settings):
    read = settings_reads()
    templates = network_templates(settings)
    slugs = [n.slug.upper().replace("-", "_") for n in catalogue.BUILTIN]
    real = read | {t.replace(SLUG, s) for t in templates for s in slugs}
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert len(named) > 30
    assert named - real == set(), ".env.example names variables payram does not read"


def test_the_environment_is_read_in_settings_only():
    """Modules read django.conf.settings; only settings.py (through payram/lib/env.py's
    typed readers) looks at the environment. manage.py, wsgi and the Celery app only
    choose the settings module, as Django's own templates do."""
    allowed = {"payram/settings.py", "payram/lib/env.py"}
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in {"tests", "bench", ".venv", "node_modules"} or rel in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ|getenv", line) and 'setdefault("DJANGO_SETTINGS_MODULE"' not in line:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []
    readers = re.compile(r"from payram\.lib\.env import [^\n]*\benv(str|bool|int|list|url)\b")
    importers = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*.py")
        if p.relative_to(ROOT).parts[0] not in {"tests", ".venv", "node_modules"} and readers.search(p.read_text())
    ]
    assert importers == ["payram/settings.py"]
