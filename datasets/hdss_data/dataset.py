"""Find a published dataset and read its Frictionless manifest (``datapackage.json``).

A published dataset looks like this on the host (and under ``/data/<sensitivity>/<name>``
in a container, where the mount is one version directory)::

    <root>/<name>/<version>/datapackage.json
    <root>/<name>/current -> <version>

:func:`find_dataset` accepts any of these levels: the version directory, the dataset
directory (``current`` or else the newest version is used), or a root that holds datasets
(the first by name, ``dk-registers`` preferred).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hdss_data.errors import DatasetNotFoundError, HdssDataError, MissingTableError

MANIFEST = "datapackage.json"
CURRENT = "current"
ENV_ROOT = "HDSS_DATA_ROOT"
DEFAULT_ROOT = "/data/synthetic/dk-registers"
PREFERRED = "dk-registers"
HIVE_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=[^/]*$")


@dataclass(frozen=True)
class TableInfo:
    """One catalogued table: its Parquet files and its documented schema."""

    name: str
    files: tuple[Path, ...]
    fields: tuple[dict, ...] = ()
    description: str = ""
    title: str = ""
    rows: int | None = None
    primary_key: tuple[str, ...] = ()
    hive_keys: tuple[str, ...] = field(default=())  # partition keys found in the paths

    @property
    def hive(self) -> bool:
        """True when every file sits under ``key=value`` directories (hive partitioning)."""
        return bool(self.hive_keys)


@dataclass(frozen=True)
class Dataset:
    """A published dataset version: where it is, what the manifest says, its tables."""

    path: Path
    manifest: dict
    tables: dict[str, TableInfo]

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.path.parent.name)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version") or self.path.name)

    @property
    def sensitivity(self) -> str:
        """``synthetic`` or ``restricted`` as recorded in the manifest (``unknown`` if not)."""
        for holder in (
            self.manifest,
            self.manifest.get("provenance") or {},
            self.manifest.get("hdss") or {},
        ):
            if isinstance(holder, dict) and holder.get("sensitivity"):
                return str(holder["sensitivity"])
        return "unknown"

    def table(self, name: str) -> TableInfo:
        try:
            return self.tables[name]
        except KeyError:
            raise MissingTableError(
                name,
                f"table {name!r} is not in the manifest {self.path / MANIFEST}; "
                f"it lists: {', '.join(sorted(self.tables)) or 'no tables'}",
            ) from None


def default_root() -> Path:
    """``$HDSS_DATA_ROOT`` if set (containers set ``/data/synthetic``), else the mount."""
    return Path(os.environ.get(ENV_ROOT) or DEFAULT_ROOT)


def _manifest_name(version_dir: Path) -> str | None:
    try:
        return json.loads((version_dir / MANIFEST).read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        return None


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _preferred_first(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: (p.name != PREFERRED, p.name))


def _version_of(dataset_dir: Path) -> Path | None:
    """The version to read in a dataset directory: ``current``, else the newest."""
    link = dataset_dir / CURRENT
    if (link / MANIFEST).is_file():
        return link.resolve()
    versions = [p for p in _subdirs(dataset_dir) if (p / MANIFEST).is_file()]
    return versions[-1] if versions else None


def find_dataset(root: str | os.PathLike | None = None) -> Path:
    """The version directory (holding ``datapackage.json``) that ``root`` points to.

    ``root`` may be a version directory, a dataset directory (its ``current`` link, else
    its newest version), or a folder of datasets: the publication root on the host, or
    ``/data/synthetic`` in a container, where each dataset is mounted as one version
    (``dk-registers`` first, else the first by name). Raises :class:`DatasetNotFoundError`
    naming the places it looked.
    """
    given = Path(root) if root is not None else default_root()
    base = given.expanduser()
    if not base.is_dir():
        how = "" if root is not None else f" (the default; set {ENV_ROOT} or pass root=)"
        raise DatasetNotFoundError(
            f"dataset root {base} does not exist{how}. Pass the folder of a published "
            f"dataset (e.g. /data/synthetic/dk-registers), or make one with "
            f"`hdss-dataset generate --size tiny --out DIR` and pass DIR."
        )
    if (base / MANIFEST).is_file():
        return base.resolve()
    if (base / CURRENT / MANIFEST).is_file():
        return (base / CURRENT).resolve()
    subdirs = _subdirs(base)
    with_manifest = [p for p in subdirs if (p / MANIFEST).is_file()]
    if with_manifest:
        if all(_manifest_name(p) == base.name for p in with_manifest):
            return with_manifest[-1].resolve()  # versions of one dataset: the newest
        return _preferred_first(with_manifest)[0].resolve()  # mounted datasets
    looked = [base / MANIFEST, base / CURRENT / MANIFEST]
    for candidate in _preferred_first(subdirs):
        looked.append(candidate / CURRENT / MANIFEST)
        found = _version_of(candidate)
        if found is not None:
            return found
    raise DatasetNotFoundError(
        f"no published dataset at {base}: looked for {', '.join(map(str, looked))}. "
        f"Pass the folder of a dataset that holds {MANIFEST} (or a 'current' link to one)."
    )


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _hive_keys(relpaths: list[str]) -> tuple[str, ...]:
    """Partition keys shared by every path (``bef/aar=2020/part-0.parquet`` gives aar)."""
    key_sets = []
    for rel in relpaths:
        keys = tuple(m.group(1) for part in Path(rel).parts[:-1] if (m := HIVE_SEGMENT.match(part)))
        key_sets.append(keys)
    if not key_sets or not key_sets[0] or any(k != key_sets[0] for k in key_sets):
        return ()
    return key_sets[0]


def _rows(resource: dict) -> int | None:
    for key in ("rows", "count", "row_count"):
        if isinstance(resource.get(key), int):
            return resource[key]
    stats = resource.get("stats") or {}
    return stats.get("rows") if isinstance(stats.get("rows"), int) else None


def _table_info(path: Path, resource: dict) -> TableInfo:
    name = resource.get("name")
    if not name:
        raise HdssDataError(f"a resource in {path / MANIFEST} has no name: {resource!r:.200}")
    relpaths = _as_list(resource.get("path"))
    schema = resource.get("schema") or {}
    return TableInfo(
        name=name,
        files=tuple(path / rel for rel in relpaths),
        fields=tuple(schema.get("fields") or ()),
        description=resource.get("description") or "",
        title=resource.get("title") or "",
        rows=_rows(resource),
        primary_key=tuple(_as_list(schema.get("primaryKey"))),
        hive_keys=_hive_keys(relpaths),
    )


def load(root: str | os.PathLike | None = None, *, check_files: bool = True) -> Dataset:
    """Find the dataset at ``root`` and read its manifest.

    With ``check_files`` (the default) every table's Parquet files must exist; the first
    table with a missing file raises :class:`MissingTableError` naming the table and path.
    """
    path = find_dataset(root)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise HdssDataError(f"cannot read the manifest {path / MANIFEST}: {e}") from e
    tables = {}
    for resource in manifest.get("resources") or ():
        info = _table_info(path, resource)
        tables[info.name] = info
    dataset = Dataset(path, manifest, tables)
    if check_files:
        check_tables(dataset)
    return dataset


def check_tables(dataset: Dataset, names: Iterable[str] | None = None) -> None:
    """Raise :class:`MissingTableError` for the first table whose files are not all there."""
    for name in names if names is not None else dataset.tables:
        info = dataset.table(name)
        if not info.files:
            raise MissingTableError(
                name, f"table {name!r} lists no files in {dataset.path / MANIFEST}"
            )
        missing = [f for f in info.files if not f.is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise MissingTableError(
                name,
                f"table {name!r} is catalogued in {dataset.path / MANIFEST} but its data is "
                f"missing: looked for {missing[0]}{more}. The dataset is incomplete; ask "
                f"the data steward to republish it, or run `hdss-dataset verify`.",
            )
