"""Atomic, read-only publication of a dataset version under a sensitivity root.

A version is written into ``<root>/<name>/.tmp-<pid>-<token>/`` and only renamed to
``<root>/<name>/<version>/`` once it is complete, checksummed and read-only; ``current``
is then swapped atomically (a new symlink renamed over the old). A killed run leaves only
a dot-prefixed temp directory, which the catalogue ignores and the next run removes (it
holds the dataset's lock, so no live run can own one).
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path

from hdss_common.catalog import CURRENT, MANIFEST, Sensitivity, valid_name
from hdss_common.errors import HdssError

MARKER = ".hdss-datasets"
TMP_PREFIX = ".tmp-"
LOCK = ".lock"


class PublishError(HdssError):
    """Publication refused or failed: the message says what is wrong and what to do."""


def prepare_root(root: Path, sensitivity: Sensitivity) -> Path:
    """Create or adopt ``root``; refuse a directory that is not one of ours."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise PublishError(f"output {root} exists and is not a directory: choose another --out")
    marker = root / MARKER
    if root.is_dir():
        if marker.is_file():
            found = marker.read_text().strip()
            if found != sensitivity.value:
                raise PublishError(
                    f"output {root} is a {found} dataset root; a {sensitivity.value} dataset "
                    f"must go under its own root (choose another --out)"
                )
            return root
        if any(root.iterdir()):
            raise PublishError(
                f"output {root} exists, is not empty and is not a dataset root made by "
                f"hdss-dataset (no {MARKER} file): choose a new or empty directory"
            )
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(sensitivity.value + "\n")
    return root


def dataset_dir(root: Path, name: str) -> Path:
    if not valid_name(name):
        raise PublishError(
            f"dataset name {name!r} is not valid: use lower-case letters, digits, - and _"
        )
    d = root / name
    if d.exists() and not d.is_dir():
        raise PublishError(f"{d} exists and is not a directory: remove it or pick --name")
    d.mkdir(exist_ok=True)
    return d


@contextmanager
def locked(directory: Path):
    """Hold the dataset's exclusive lock; a second concurrent run fails at once."""
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(
                f"another hdss-dataset run is publishing into {directory}: wait for it"
            ) from None
        yield
    finally:
        os.close(fd)


def make_writable(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


def remove_tree(path: Path) -> None:
    if path.exists():
        make_writable(path)
        shutil.rmtree(path, ignore_errors=True)


def clean_stale(directory: Path) -> list[Path]:
    """Remove temp dirs and half-made ``current`` links of dead runs (caller holds the lock)."""
    removed = []
    for p in directory.iterdir():
        if p.name.startswith(TMP_PREFIX) and p.is_dir():
            remove_tree(p)
            removed.append(p)
        elif p.name.startswith(".current-") and p.is_symlink():
            p.unlink()
            removed.append(p)
    return removed


def new_temp(directory: Path) -> Path:
    tmp = directory / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    return tmp


def check_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise PublishError(
            f"not enough disk space under {directory}: about {needed / 1e6:,.0f} MB needed, "
            f"{free / 1e6:,.0f} MB free; free some space or choose another --out"
        )


def make_read_only(path: Path) -> None:
    for p in sorted(path.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    path.chmod(0o555)


def _fsync_tree(path: Path) -> None:
    for p in [*path.rglob("*"), path]:
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def install(tmp: Path, directory: Path, version: str) -> Path:
    """Move a finished temp dir into place as ``version`` and point ``current`` at it."""
    target = directory / version
    _fsync_tree(tmp)
    make_read_only(tmp)
    if target.exists():
        same = (target / MANIFEST).read_bytes() == (tmp / MANIFEST).read_bytes()
        remove_tree(tmp)
        if not same:
            raise PublishError(f"{target} exists with different content: remove it first")
    else:
        os.rename(tmp, target)
    link = directory / f".current-{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    os.symlink(version, link)
    os.replace(link, directory / CURRENT)
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return target


def is_enospc(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def mode_ok(path: Path) -> bool:
    """True when nothing under ``path`` is writable by anyone."""
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return all(not (p.stat().st_mode & writable) for p in [path, *path.rglob("*")])
