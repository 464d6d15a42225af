"""The packages' imports point one way: shared parts at the bottom, the hub's wiring on top.

Every import statement of every module (function-local ones included) is parsed with
``ast``; an import of a component the importer's layer may not see fails the test with
the file, the line and the rule. The layers are drawn in README.md ("Layout").
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

SOURCE_ROOTS = ("common", "datasets", "hub", "spawner")

# The hub's own modules that the services share (below the services, above hdss_common).
HUB_BASE = ("hdss_hub.settings", "hdss_hub.webservice", "hdss_hub.apimodels", "hdss_hub.metrics")

# component -> the components it may import (its own is always allowed).
ALLOWED: dict[str, set[str]] = {
    "hdss_common": set(),
    "hdss_data": set(),  # installed alone in the single-user image
    "hdss_secure": set(),  # the secure servers' guard, alone in the single-user image
    "hdss_airlock": set(),  # the output checks: the promotion service's and hdss-airlock's
    "hdss_registers": {"hdss_common"},
    "hdss_hub.base": {"hdss_common"},
    "hdss_hub.audit": {"hdss_common"},
    "hdss_hub.ledger": {"hdss_common", "hdss_hub.base", "hdss_hub.audit"},
    "hdss_hub.promotion": {
        "hdss_common",
        "hdss_airlock",
        "hdss_hub.base",
        "hdss_hub.audit",
        "hdss_hub.ledger",
    },
    "hdss_spawner": {"hdss_common"},
    # The Slurm backend: its spawner, the cluster as containers and the job script.
    "hdss_slurm": {"hdss_common", "hdss_spawner"},
    "hdss_hub.courses": {"hdss_common", "hdss_hub.base", "hdss_hub.audit", "hdss_hub.ledger"},
    "hdss_hub.config": {
        "hdss_common",
        "hdss_data",
        "hdss_registers",
        "hdss_hub.base",
        "hdss_hub.audit",
        "hdss_hub.ledger",
        "hdss_hub.promotion",
        "hdss_hub.courses",
        "hdss_spawner",
        "hdss_slurm",
    },
}


def component(module: str) -> str | None:
    """The layer component of a dotted module name; None for anything not ours."""
    parts = module.split(".")
    if parts[0] != "hdss_hub":
        return parts[0] if parts[0] in ALLOWED else None
    if len(parts) == 1:
        return "hdss_hub.config"
    if any(module == m or module.startswith(m + ".") for m in HUB_BASE):
        return "hdss_hub.base"
    sub = f"hdss_hub.{parts[1]}"
    return sub if sub in ALLOWED else "hdss_hub.config"


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted name, is a package __init__) of a source file."""
    root = next(r for r in SOURCE_ROOTS if path.is_relative_to(PROJECT_DIR / r))
    rel = path.relative_to(PROJECT_DIR / root).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in ``path``, relative ones resolved."""
    name, is_package = module_name(path)
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub; `from mod import x`, mod.
            subs = [f"{target}.{a.name}" for a in node.names]
            modules = [m for m in subs if m in known_modules()]
            found += [(node.lineno, m) for m in modules] or [(node.lineno, target)]
    return found


def known_modules() -> frozenset[str]:
    return _known_modules(PROJECT_DIR)


@functools.cache
def _known_modules(project_dir: Path) -> frozenset[str]:
    return frozenset(module_name(p)[0] for p in sources())


def sources() -> list[Path]:
    files = []
    for root in SOURCE_ROOTS:
        files += sorted((PROJECT_DIR / root).glob("hdss_*/**/*.py"))
    return files


def violations(path: Path) -> list[str]:
    name, _ = module_name(path)
    mine = component(name)
    if mine is None:
        return []
    out = []
    for line, target in imported_modules(path):
        theirs = component(target)
        if theirs is None or theirs == mine or theirs in ALLOWED[mine]:
            continue
        rel = path.relative_to(PROJECT_DIR)
        out.append(f"{rel}:{line}: {mine} imports {target} ({theirs}), which is above it")
    return out


def test_every_package_is_in_a_layer():
    names = {module_name(p)[0].split(".")[0] for p in sources()}
    assert names <= set(ALLOWED) | {"hdss_hub"}, names - set(ALLOWED)
    assert {"hdss_common", "hdss_spawner", "hdss_hub", "hdss_registers"} <= names


def test_imports_point_down_the_layers():
    found = [v for path in sources() for v in violations(path)]
    assert not found, "imports that point the wrong way:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        ("hdss_spawner.spawner", "from hdss_hub.ledger.core import Ledger\n", "hdss_hub.ledger"),
        ("hdss_hub.ledger.reconcile", "from hdss_spawner.secure import x\n", "hdss_spawner"),
        ("hdss_common.db", "import hdss_hub.audit.log\n", "hdss_hub.audit"),
        ("hdss_hub.audit.log", "def f():\n    from ..ledger import core\n", "hdss_hub.ledger"),
        ("hdss_data.views", "from hdss_common import catalog\n", "hdss_common"),
    ],
)
def test_a_wrong_import_is_caught(tmp_path, monkeypatch, importer, source, expected):
    """Negative controls: each of these imports, planted in a module, is reported."""
    parts = importer.split(".")
    root = {"hdss_spawner": "spawner", "hdss_common": "common", "hdss_data": "datasets"}.get(
        parts[0], "hub"
    )
    fake = tmp_path / root / Path(*parts[:-1]) / f"{parts[-1]}.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    monkeypatch.setattr(f"{__name__}.PROJECT_DIR", tmp_path)
    found = violations(fake)
    assert found and expected in found[0], found


def test_allowed_imports_are_not_reported(tmp_path, monkeypatch):
    """Positive control: the spawner importing the shared package is fine."""
    fake = tmp_path / "spawner" / "hdss_spawner" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from hdss_common.naming import project_of\nfrom . import policy\n")
    monkeypatch.setattr(f"{__name__}.PROJECT_DIR", tmp_path)
    assert violations(fake) == []
