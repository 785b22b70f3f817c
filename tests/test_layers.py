"""The house stays easy to change: payram's packages import each other in one direction
only, with no loops between files, and imports sit at the top of modules except where
Django itself needs them deferred (an AppConfig.ready(), settings).

Layers, lowest first: payram.lib, members, chain, links, then links.notifications and
links.api (which listen to links), then the project itself (payram: settings, urls,
celery, jobs, commands). A module may import its own layer and the layers below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("payram", "members", "chain", "links")
LAYERS = [("payram.lib",), ("members",), ("chain",), ("links",), ("links.notifications", "links.api"), ("payram",)]

# Where an import inside a function is what Django asks for, and why.
DEFERRED_OK = {
    "links/apps.py": "ready() imports modules that import models (apps must be loaded first)",
    "links/notifications/apps.py": "ready() imports modules that import models",
    "payram/apps.py": "ready() registers the system checks",
    "payram/settings.py": "settings cannot import modules that read settings at import time",
    "payram/jobs.py": "the job table is imported by payram/celery.py before Django is set up",
    "payram/celery.py": "the Celery app is imported before Django is set up (no models yet)",
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    best, depth = None, -1
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = number, len(prefix)
    assert best is not None, module
    return best


def _imports(path: Path):
    """(line, imported first-party module, inside a function?) for every import."""
    tree = ast.parse(path.read_text())
    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    inner.add(id(child))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES]
            names = names or [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                yield node.lineno, name, id(node) in inner


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_imports_sit_at_the_top_of_modules():
    deferred = [
        f"{_where(path)}:{line} imports {target}"
        for module, path in MODULES.items()
        for line, target, inner in _imports(path)
        if inner and _where(path) not in DEFERRED_OK and not _where(path).startswith("chain/")
    ]
    assert deferred == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(module):
    above = [f"line {line}: {target}" for line, target, _inner in _imports(MODULES[module]) if _layer(target) > _layer(module)]
    assert above == [], f"{module} ({_where(MODULES[module])}) reaches up"


def test_no_import_loops():
    graph = {module: {t for _line, t, _inner in _imports(path) if t != module} for module, path in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert loops == []
