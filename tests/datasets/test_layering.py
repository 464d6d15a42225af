"""The generator's modules import each other one way: no circle, not even a lazy one."""

from __future__ import annotations

import ast
from pathlib import Path

import hdss_registers

PACKAGE = "hdss_registers"
ROOT = Path(hdss_registers.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in its body, functions included."""
    here = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from .x import y
                package = here if path.name == "__init__.py" else here.rpartition(".")[0]
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # "from pkg import name": name may be a module of its own, or a name in pkg.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # "import hdss_registers.x.y" also loads hdss_registers.x
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != here:
                found.add(target)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path of module names, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_generator_modules_import_each_other_one_way():
    files = sorted(ROOT.glob("*.py"))
    modules = {_module_name(f) for f in files}
    graph = {_module_name(f): _imports(f, modules) for f in files}

    # The parser sees the edges that matter, so an empty graph cannot pass by accident.
    assert f"{PACKAGE}.hospital" in graph[f"{PACKAGE}.tables"]
    assert f"{PACKAGE}.simulate" in graph[f"{PACKAGE}.hospital"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]

    circle = _cycle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])
