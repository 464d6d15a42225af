"""Secret files of mode 0600: created whole on first use, never logged.

Owner-only mode, never empty; used by the hub (cookie secret, passwords, tokens) and the
packages below it (the audit log's anchor key). A new secret is written to a temporary
file and linked into place, so a second process starting at the same moment never reads
a half-written or empty file: one of them creates it, every other one reads that one.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from .errors import HdssError


class SecretFileError(HdssError):
    """A secret file exists but cannot be trusted (readable by others, empty)."""


def ensure_secret_file(
    path: str | os.PathLike, nbytes: int = 32, *, folder_owner: bool = False
) -> str:
    """The secret stored at ``path``, generating it (mode 0600) if the file is absent.

    The parent folder is created with mode 0700 when missing (new folders belong to the
    owner of the folder above them). A new file is its creator's; with ``folder_owner``
    it belongs to its folder's owner, for a secret the hub must read even when a root-run
    command made it (the audit anchor key), while the backup password made by root stays
    root's. An existing file readable by group or others is refused: the caller must fix
    its mode.
    """
    path = Path(path)
    make_folders(path.parent, mode=0o700)
    if path.exists():
        return read_secret_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            if folder_owner:
                give_to_folder_owner(f.fileno(), path.parent)
            f.write(secrets.token_urlsafe(nbytes) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never replaces a file another process made
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return read_secret_file(path)


def give_to_folder_owner(fd: int, folder: Path) -> None:
    """Run as root, hand a file just created in ``folder`` to the folder's owner.

    A root-run command (``hdss-backup`` from its systemd unit, an operator's ``hdss-course``)
    can be the first to write one of the hub's files; left to root, the hub, which runs as
    its own user, could no longer write it (the audit anchors stopped the ledger so)."""
    if os.geteuid() != 0:
        return
    st = folder.stat()
    if (st.st_uid, st.st_gid) != (0, 0):
        os.fchown(fd, st.st_uid, st.st_gid)


def make_folders(folder: Path, mode: int = 0o700) -> None:
    """``mkdir -p`` whose new folders belong to the owner of the nearest existing one."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=mode)
        except FileExistsError:
            continue
        fd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
        try:
            give_to_folder_owner(fd, new.parent)
        finally:
            os.close(fd)


def read_secret_file(path: str | os.PathLike) -> str:
    """The secret in ``path``, refusing files that others can read."""
    path = Path(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretFileError(
            f"{path} has mode {mode:o}: a secret file must be readable by its owner only "
            f"(chmod 600 {path})"
        )
    value = path.read_text().strip()
    if not value:
        raise SecretFileError(f"{path} is empty: delete it to have a new secret generated")
    return value
