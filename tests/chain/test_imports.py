"""chain/ reads top to bottom: its modules import each other without a loop, and at module
top, so what a module needs is stated where a reader looks first."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "chain"
# The lead is moving these two (scanloop's scheduler, the job table); they are checked once moved.
NOT_YET = {"chain/management/commands/scanloop.py", "chain/schedule.py"}
# Imported by Celery while it configures the app, before Django's app registry is ready:
# its models come inside the functions that use them.
BEFORE_APPS_READY = {"chain/health.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in CHAIN.rglob("*.py") if "migrations" not in p.parts}


def top_level_imports(path: Path) -> set[str]:
    """chain modules imported when this one is (TYPE_CHECKING blocks and a module's own
    parent packages aside: a package being imported may import its submodules)."""
    me = module_name(path)
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                submodules = {f"{child.module}.{a.name}" for a in child.names} & MODULES.keys()
                found.update(submodules or {child.module})
    return {m for m in found if m in MODULES and m != me and not me.startswith(m + ".")}


def test_chain_modules_import_each_other_without_a_loop():
    graph = {name: top_level_imports(path) for name, path in MODULES.items()}
    loops = []

    def visit(name, trail):
        if name in trail:
            loops.append(trail[trail.index(name) :] + [name])
            return
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, trail + [name])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        visit(name, [])
    assert loops == []
    assert "chain.tron" in graph["chain.hd"] and "chain.health" in graph["chain.scanner"]  # the walk sees real edges


def test_chain_imports_at_module_top():
    inside = []
    for path in sorted(MODULES.values()):
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_YET:
            continue
        allowed = {"from chain.models import Cursor"} if rel in BEFORE_APPS_READY else set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for child in ast.walk(node):
                    if isinstance(child, ast.Import | ast.ImportFrom) and ast.unparse(child) not in allowed:
                        inside.append(f"{rel}:{child.lineno} {ast.unparse(child)}")
    assert inside == []
