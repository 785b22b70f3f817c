"""Every third-party package payram's code imports is declared in pyproject.toml, so a
fresh install (pip install .) has it and an upgrade of web3 or requests that drops one
of their own dependencies does not break payram."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", ".venv", "node_modules", "var", ".git"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {normalized(re.match(r"[A-Za-z0-9._-]+", requirement)[0]) for requirement in project["dependencies"]}


def first_party() -> set[str]:
    return {
        path.stem if path.suffix == ".py" else path.name
        for path in ROOT.iterdir()
        if path.name not in NOT_CODE and ((path.is_dir() and any(path.rglob("*.py"))) or path.suffix == ".py")
    }


def imported() -> dict[str, set[str]]:
    """Top-level module name -> files importing it, for every import in the non-test code
    (those inside functions included)."""
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_CODE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(rel))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(rel.as_posix())
    return found


def test_every_imported_package_is_declared():
    stdlib, ours, deps = sys.stdlib_module_names, first_party(), declared()
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in imported().items():
        if module in stdlib or module in ours:
            continue
        if not {normalized(d) for d in distributions.get(module, [])} & deps:
            missing[module] = sorted(files)
    assert missing == {}, "imported but not in pyproject.toml's dependencies"


def test_the_walk_sees_direct_imports():
    # fastecdsa (chain/hd.py) and Crypto (pycryptodome, inside a function) were the undeclared ones.
    modules = imported()
    assert "fastecdsa" in modules and "Crypto" in modules and "django" in modules
    assert {"chain", "links", "members", "payram"} <= first_party()
