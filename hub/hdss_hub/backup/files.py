"""Files of the state folder: staging copies, safe extraction, putting files back."""

from __future__ import annotations

import filecmp
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from .restic import BackupError


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def same_owner(source: Path | os.stat_result, target: Path) -> None:
    """Give ``target`` the owner of ``source`` (run as root; otherwise nothing to do)."""
    if os.geteuid() == 0:
        st = source if isinstance(source, os.stat_result) else source.stat()
        os.chown(target, st.st_uid, st.st_gid)


def copy_tree(src: Path, dest: Path, skip: Callable[[Path], bool] = lambda p: False) -> None:
    """Copy regular files and folders, modes and owners kept (links and the rest left out)."""
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copymode(src, dest)
    same_owner(src, dest)
    for entry in sorted(src.iterdir()):
        if skip(entry) or entry.is_symlink():
            continue
        if entry.is_dir():
            copy_tree(entry, dest / entry.name, skip)
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)
            same_owner(entry, dest / entry.name)


def safe_extract(stream: IO[bytes], dest: Path, strip: str) -> list[Path]:
    """Extract regular files and folders under ``strip/`` of a tar stream into ``dest``.

    Members outside ``strip/``, absolute or ``..`` paths, links and devices are refused:
    a tar from the repository is data, never allowed to write elsewhere. Returns the files.
    """
    files = []
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts or path.parts[:1] != (strip,):
                raise BackupError(f"refusing the unexpected path {member.name!r} in the backup")
            rel = Path(*path.parts[1:]) if len(path.parts) > 1 else Path(".")
            target = dest / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                target.chmod(member.mode & 0o777 | stat.S_IRWXU)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                target.chmod(member.mode & 0o777)
                files.append(rel)
            else:
                raise BackupError(f"refusing {member.name!r} in the backup: not a file or folder")
            if os.geteuid() == 0:
                os.chown(target, member.uid, member.gid)
    return files


def put_file(restored: Path, target: Path, replace: bool) -> str:
    """Put one restored file in place; returns what was done ('' when nothing changed).

    A missing file is restored; an identical one is left; a different one is replaced
    (``replace``, the old one kept beside it as ``<name>.replaced-<time>``) or left alone.
    """
    if target.exists() and filecmp.cmp(restored, target, shallow=False):
        return ""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    note = f"restored {target}"
    if target.exists():
        if not replace:
            return f"kept {target} (differs from the backup)"
        aside = target.with_name(f"{target.name}.replaced-{stamp()}")
        target.rename(aside)
        note += f" (the one there is kept as {aside})"
    tmp = target.with_name(f".{target.name}.restoring")
    shutil.copy2(restored, tmp)
    same_owner(restored, tmp)
    os.replace(tmp, target)
    return note
