"""Secrets kept in files of mode 0600: generated on first use, never logged."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from hdss_common.errors import HdssError


class SecretFileError(HdssError):
    """A secret file exists but cannot be trusted (wrong mode, empty)."""


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """The secret stored at ``path``, generating it (mode 0600) if the file is absent.

    An existing file readable by group or others is refused: the caller must fix its mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret(path)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(nbytes) + "\n")
    return read_secret(path)


def read_secret(path: Path) -> str:
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
