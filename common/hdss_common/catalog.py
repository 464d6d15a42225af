"""The dataset catalogue: which published datasets exist and where a container sees them.

Publication layout (one root per sensitivity, so the secure profile's root is never
mounted by accident)::

    <root>/<name>/<version>/datapackage.json   one immutable, read-only version
    <root>/<name>/current -> <version>          the version mounted for new servers

Containers see every synthetic dataset at ``/data/synthetic/<name>`` and a restricted
one at ``/data/restricted/<name>``; the path has no version in it, so code does not change
when a new version is published.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .errors import HdssError

MANIFEST = "datapackage.json"
CURRENT = "current"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Sensitivity(StrEnum):
    """How sensitive a dataset is; each level has its own storage root and mount point."""

    SYNTHETIC = "synthetic"
    RESTRICTED = "restricted"

    @property
    def mount_root(self) -> str:
        return f"/data/{self.value}"


class CatalogError(HdssError):
    """The catalogue cannot be read: the message says what is wrong and what to do."""


@dataclass(frozen=True)
class CatalogEntry:
    """One published dataset version as the hub mounts it."""

    name: str
    version: str
    sensitivity: Sensitivity
    path: Path  # the resolved, versioned directory on the host

    @property
    def mount_path(self) -> str:
        return f"{self.sensitivity.mount_root}/{self.name}"

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())


def valid_name(name: str) -> bool:
    """True when ``name`` is a plain dataset name (no slashes, dots or path tricks)."""
    return bool(NAME_RE.match(name))


def current_version(dataset_dir: Path) -> Path | None:
    """The version directory new servers get: ``current`` if set, else the newest published."""
    link = dataset_dir / CURRENT
    if link.is_symlink() or link.exists():
        target = link.resolve()
        if target.parent == dataset_dir.resolve() and (target / MANIFEST).is_file():
            return target
        return None
    versions = sorted(
        p
        for p in dataset_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )
    return versions[-1] if versions else None


def scan(root: Path, sensitivity: Sensitivity) -> list[CatalogEntry]:
    """Every dataset published under ``root``, at its current version, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(
            f"dataset root {root} does not exist: generate a dataset first "
            f"(make dataset OUT={root}) or set data.{sensitivity.value}_root in the settings"
        )
    entries = []
    for dataset_dir in sorted(root.iterdir()):
        if not dataset_dir.is_dir() or not valid_name(dataset_dir.name):
            continue
        version = current_version(dataset_dir)
        if version is not None:
            entries.append(CatalogEntry(dataset_dir.name, version.name, sensitivity, version))
    return entries


def load_catalog(synthetic_root: Path, restricted_root: Path | None = None) -> list[CatalogEntry]:
    """The whole catalogue: synthetic datasets, then restricted ones if a root is given."""
    entries = scan(Path(synthetic_root), Sensitivity.SYNTHETIC)
    if restricted_root is not None and Path(restricted_root).is_dir():
        entries += scan(Path(restricted_root), Sensitivity.RESTRICTED)
    return entries
