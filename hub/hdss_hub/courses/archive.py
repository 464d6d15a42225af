"""Archives of home volumes: a compressed tar, its SHA-256 and a manifest, verified.

``archive_volume`` streams the home out of the engine (its archive API, on a container
that is created but never started), writes ``<root>/<course>/<user>-<time>.tar.gz``,
``….tar.gz.sha256`` (sha256sum's format) and ``….manifest.json`` (user, course, volume,
time, every file with its size and SHA-256, the total). ``verify`` re-reads the archive
from disk: the checksum must match and its files and sizes must be the manifest's.
``restore`` puts a verified archive back into a (new or empty) home volume.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import secrets
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hdss_common.errors import HdssError

CHUNK = 1 << 20


class ArchiveError(HdssError):
    """An archive cannot be written, verified or restored; the message says which and why."""


@dataclass(frozen=True)
class Archive:
    path: Path

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    @property
    def manifest_path(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".tar.gz") + ".manifest.json")

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as e:
            raise ArchiveError(f"the manifest {self.manifest_path} cannot be read: {e}") from e


class _Tee:
    """A file-like reader over the engine's chunks that copies each byte it reads to ``sink``."""

    def __init__(self, chunks: Iterator[bytes], sink) -> None:
        self.chunks, self.sink, self.buf = chunks, sink, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = (self.buf, b"") if n < 0 else (self.buf[:n], self.buf[n:])
        self.sink.write(out)
        return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _members(fileobj) -> list[dict[str, Any]]:
    files = []
    with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
        for m in tar:
            if m.isfile():
                h = hashlib.sha256()
                f = tar.extractfile(m)
                while block := f.read(CHUNK):
                    h.update(block)
                files.append({"path": m.name, "size": m.size, "sha256": h.hexdigest()})
    return files


def _helper(client, image: str, volume: str, home_path: str, mode: str):
    return client.containers.create(
        image,
        name=f"{volume}-helper-{secrets.token_hex(3)}",  # named after the volume it reads
        command=["true"],
        network_disabled=True,
        volumes={volume: {"bind": home_path, "mode": mode}},
        labels={"org.hdss.course-archive": volume},
    )


def archive_volume(
    client,
    image: str,
    volume: str,
    home_path: str,
    root: Path,
    *,
    user: str,
    course: str,
    now: dt.datetime,
) -> Archive:
    """Write the archive of ``volume`` (see the module doc); the files are mode 0600."""
    folder = Path(root, course)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    archive = Archive(folder / f"{user}-{now:%Y%m%dT%H%M%SZ}.tar.gz")
    container = _helper(client, image, volume, home_path, "ro")
    try:
        stream, _ = container.get_archive(home_path)
        with open(archive.path, "wb") as raw:
            archive.path.chmod(0o600)
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                tee = _Tee(iter(stream), gz)
                files = _members(tee)
                tee.read()  # the tar's end blocks
    finally:
        container.remove(force=True)
    digest = file_sha256(archive.path)
    archive.checksum_path.write_text(f"{digest}  {archive.path.name}\n")
    manifest = {
        "user": user,
        "course": course,
        "volume": volume,
        "home_path": home_path,
        "created": now.isoformat(),
        "archive": archive.path.name,
        "sha256": digest,
        "files": files,
        "file_count": len(files),
        "total_bytes": sum(f["size"] for f in files),
    }
    archive.manifest_path.write_text(json.dumps(manifest, indent=1))
    for p in (archive.checksum_path, archive.manifest_path):
        p.chmod(0o600)
    return archive


def verify(archive: Archive) -> dict[str, Any]:
    """The manifest, once the archive on disk matches it; ArchiveError naming the problem."""
    manifest = archive.manifest()
    try:
        recorded = archive.checksum_path.read_text().split()[0]
    except (OSError, IndexError) as e:
        raise ArchiveError(f"the checksum file {archive.checksum_path} cannot be read") from e
    try:
        actual = file_sha256(archive.path)
    except OSError as e:
        raise ArchiveError(f"the archive {archive.path} cannot be read: {e}") from e
    if actual != recorded or actual != manifest.get("sha256"):
        raise ArchiveError(
            f"the archive {archive.path} does not match its checksum (sha256 {actual}, "
            f"recorded {recorded})"
        )
    try:
        with open(archive.path, "rb") as f:
            files = _members(f)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArchiveError(f"the archive {archive.path} cannot be listed: {e}") from e
    if files != manifest.get("files"):
        listed = {(f["path"], f["size"]) for f in files}
        expected = {(f["path"], f["size"]) for f in manifest.get("files", [])}
        diff = sorted(listed ^ expected)[:3]
        raise ArchiveError(
            f"the archive {archive.path} does not hold what its manifest lists "
            f"(first differences: {diff or 'contents'})"
        )
    return manifest


def restore(client, image: str, archive: Archive, volume: str | None = None) -> str:
    """Put a verified archive back into ``volume`` (default: the one it came from), which
    must not exist or be empty; the volume's name."""
    import docker.errors

    manifest = verify(archive)
    volume = volume or manifest["volume"]
    home = PurePosixPath(manifest["home_path"])
    try:
        client.volumes.get(volume)
        exists = True
    except docker.errors.NotFound:
        exists = False
    container = _helper(client, image, volume, str(home), "rw")
    try:
        if exists:
            stream, _ = container.get_archive(str(home))
            with tarfile.open(fileobj=_Tee(iter(stream), _Null()), mode="r|") as tar:
                if any(m.name != home.name for m in tar):
                    raise ArchiveError(
                        f"the volume {volume} is not empty; restore into another with "
                        f"--volume NAME, or remove it first (docker volume rm {volume})"
                    )
        with open(archive.path, "rb") as f:
            if not container.put_archive(str(home.parent), f.read()):
                raise ArchiveError(f"the engine refused to write the archive into {volume}")
    finally:
        container.remove(force=True)
    return volume


class _Null:
    def write(self, data: bytes) -> None:
        pass
