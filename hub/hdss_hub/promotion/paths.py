"""Path safety for everything that crosses the airlock: names, selections, tar members.

Nothing here touches a file system: selections are checked as text, archives as streams,
so a symlink, a device or a ``..`` can never make the service read or write outside the
workspace it meant to.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import PurePosixPath

# A file name as it may appear in a selection, an outbox or a results folder.
PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,127}$")
MAX_DEPTH = 8


class UnsafePath(ValueError):
    """A path that could leave its folder; the message names it and says what is allowed."""


def safe_relpath(raw: str) -> str:
    """``raw`` as a normalised relative POSIX path inside its folder, or :class:`UnsafePath`.

    Refused: absolute paths, ``..``, empty parts, backslashes, control characters, hidden
    files (``.name``) and names outside ``[A-Za-z0-9._ -]``.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise UnsafePath("an empty path was given; name a file relative to your home folder")
    if "\\" in raw or "\x00" in raw or any(ord(ch) < 32 for ch in raw):
        raise UnsafePath(f"{raw!r}: backslashes and control characters are not allowed")
    if raw.startswith("/"):
        raise UnsafePath(f"{raw!r}: give a path relative to your home folder, not an absolute one")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafePath(f"{raw!r} names no file")
    if len(parts) > MAX_DEPTH:
        raise UnsafePath(f"{raw!r}: more than {MAX_DEPTH} folders deep")
    for part in parts:
        if part == "..":
            raise UnsafePath(f"{raw!r}: '..' would leave your home folder")
        if not PART_RE.match(part):
            raise UnsafePath(
                f"{raw!r}: the name {part!r} is not allowed (letters, digits, "
                "'.', '_', '-' and spaces; no hidden files)"
            )
    return "/".join(parts)


def member_problem(member: tarfile.TarInfo, max_bytes: int) -> str | None:
    """Why an archive member must not cross the airlock, or None if it may."""
    if member.issym() or member.islnk():
        return f"{member.name} is a link (to {member.linkname}); links are never copied"
    if member.isdir():
        return None
    if not member.isfile():
        return f"{member.name} is not a regular file"
    if member.size > max_bytes:
        return f"{member.name} is {member.size:,} bytes, over the limit of {max_bytes:,}"
    try:
        safe_relpath(member.name)
    except UnsafePath as e:
        return str(e)
    return None


def strip_top(name: str, top: str) -> str:
    """A member name relative to the archived folder ``top`` (its own name first)."""
    path = PurePosixPath(name)
    if path.parts and path.parts[0] == top:
        path = PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else PurePosixPath("")
    return str(path) if str(path) != "." else ""
