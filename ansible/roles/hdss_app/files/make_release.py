#!/usr/bin/env python3
"""Pack the sandbox's source tree into a reproducible release archive (runs on the controller).

Usage: make_release.py SOURCE_DIR OUT_DIR

The archive holds the files git knows about (tracked, plus untracked files that are not
ignored), or every file outside .git/.venv/var when SOURCE_DIR is not a git checkout.
Its name carries a hash of the contents, and the archive itself is byte-identical for the
same contents (sorted entries, fixed times and owners), so a re-run of the playbook copies
nothing and a changed tree yields a new release. Prints one JSON line: {"id", "archive"}.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

SKIP_DIRS = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}


def source_files(root: Path) -> list[str]:
    """Relative paths of the files that make up the release, sorted."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            check=True,
            capture_output=True,
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            names += [os.path.relpath(os.path.join(dirpath, f), root) for f in filenames]
    return sorted(n for n in names if (root / n).is_file() and not (root / n).is_symlink())


def release_id(root: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        digest.update(name.encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def write_archive(root: Path, names: list[str], dest: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if os.access(root / name, os.X_OK) else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    tmp = dest.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue())
    tmp.replace(dest)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, out_dir = Path(argv[1]).resolve(), Path(argv[2])
    if not (root / "pyproject.toml").is_file():
        print(
            f"{root} has no pyproject.toml: set hdss_app_source_dir to the sandbox's source folder",
            file=sys.stderr,
        )
        return 1
    names = source_files(root)
    rid = release_id(root, names)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"hdss-app-{rid}.tar.gz"
    if not archive.is_file():
        write_archive(root, names, archive)
    print(json.dumps({"id": rid, "archive": str(archive)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
