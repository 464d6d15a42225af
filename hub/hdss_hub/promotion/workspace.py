"""Moving files between Docker volumes and the airlock, through the engine's archive API.

The service never mounts a volume on the host and never extracts an archive to disk with
``tarfile.extractall``: it reads members one by one from a stream, refuses links, devices,
unsafe names and oversized files (:mod:`.paths`), and writes new files as archives whose
owner and mode it sets itself. A stopped helper container (``network none``, never
started) holds the volume while that happens.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import docker
from docker.errors import APIError, NotFound

from .paths import member_problem, safe_relpath, strip_top

HOME = "/home/jovyan"
ROOT_UID, USER_UID, USER_GID = 0, 1000, 100


class WorkspaceError(Exception):
    """A file operation refused or failed; the message says which file and why."""


class TooLarge(WorkspaceError):
    """An archive read from the engine is over its size bound (nothing of it is kept)."""


@dataclass
class File:
    path: str  # relative, safe
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def meta(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "size": len(self.data)}


@contextmanager
def holder(
    client: docker.DockerClient, image: str, volume: str, name: str, create: bool = False
) -> Iterator:
    """A created (never started) container with ``volume`` at /home/jovyan.

    A missing volume is refused, or with ``create`` made (the engine fills a new volume
    from the image's /home/jovyan, owned by the notebook user, when the holder is created).
    """
    try:
        client.volumes.get(volume)
    except NotFound:
        if not create:
            raise WorkspaceError(f"the volume {volume} does not exist") from None
        client.volumes.create(volume, labels={"hdss.promotion": "workspace"})
    container = client.containers.create(
        image,
        ["true"],
        entrypoint=[],
        name=name,
        network_mode="none",
        volumes={volume: {"bind": HOME, "mode": "rw"}},
        labels={"hdss.promotion": "holder"},
    )
    try:
        yield container
    finally:
        container.remove(force=True)


def path_stat(container, path: str) -> dict | None:
    """The engine's stat of a path in the container (None if missing), without reading it."""
    api = container.client.api
    res = api.head(api._url("/containers/{0}/archive", container.id), params={"path": path})
    if res.status_code == 404:
        return None
    if res.status_code >= 400:
        raise WorkspaceError(f"cannot stat {path}: HTTP {res.status_code}")
    header = res.headers.get("X-Docker-Container-Path-Stat", "")
    return json.loads(base64.b64decode(header)) if header else {}


def _no_links_on_the_way(container, rel: str, base: str) -> None:
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        stat = path_stat(container, f"{base}/{sub}")
        if stat is None:
            raise WorkspaceError(f"{rel}: no such file or folder in your home ({sub} is missing)")
        if stat.get("linkTarget"):
            raise WorkspaceError(
                f"{rel}: {sub} is a link (to {stat['linkTarget']}); links "
                "are never followed out of the workspace, copy the file "
                "itself"
            )


def read_tree(
    container,
    rel: str,
    max_file_bytes: int,
    max_total: int,
    problems: list[tuple[str, str]] | None = None,
    base: str = HOME,
) -> list[File]:
    """The regular files at ``rel`` (a file or a folder) under ``base`` (/home/jovyan).

    With ``problems`` a list, unsafe members are recorded there as (path, reason) and
    skipped; otherwise the first one refuses the whole read.
    """
    rel = safe_relpath(rel) if rel else ""
    if rel:
        _no_links_on_the_way(container, rel, base)
    src = f"{base}/{rel}" if rel else base
    try:
        stream, _stat = container.get_archive(src)
    except NotFound:
        raise WorkspaceError(f"{rel or 'the folder'} does not exist") from None
    except APIError as e:
        raise WorkspaceError(f"cannot read {rel}: {e.explanation}") from None
    return read_archive(stream, rel, PurePosixPath(src).name, max_file_bytes, max_total, problems)


def read_archive(
    stream: Iterable[bytes],
    rel: str,
    top: str,
    max_file_bytes: int,
    max_total: int,
    problems: list[tuple[str, str]] | None = None,
) -> list[File]:
    """The regular files of a tar ``stream`` whose members sit under ``top``, named
    ``rel/<member>``; read chunk by chunk and refused (TooLarge) once it is over
    ``max_total`` bytes (plus 1 MiB for the archive's headers). ``problems`` as in
    :func:`read_tree`."""
    files: list[File] = []
    total = 0
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for chunk in stream:
            total += len(chunk)
            if total > max_total + 1024 * 1024:
                raise TooLarge(
                    f"{rel or 'the folder'} holds more than {max_total:,} bytes, over the limit"
                )
            spool.write(chunk)
        spool.seek(0)
        try:
            _members(spool, rel, top, max_file_bytes, problems, files)
        except tarfile.TarError as e:
            raise WorkspaceError(f"cannot read {rel or top}: a broken archive ({e})") from None
    return files


def _members(spool, rel, top, max_file_bytes, problems, files: list[File]) -> None:
    with tarfile.open(fileobj=spool, mode="r|") as tar:
        for member in tar:
            inner = strip_top(member.name, top)
            name = f"{rel}/{inner}".strip("/") if inner else rel or ""
            probe = tarfile.TarInfo(name or top)
            probe.type, probe.size, probe.linkname = member.type, member.size, member.linkname
            problem = member_problem(probe, max_file_bytes)
            if problem:
                if problems is None:
                    raise WorkspaceError(problem)
                problems.append((name, problem))
                continue
            if member.isdir():
                continue
            handle = tar.extractfile(member)
            files.append(File(name, handle.read() if handle else b""))


def write_tree(
    container,
    dest: str,
    files: list[File],
    *,
    uid: int,
    gid: int,
    file_mode: int,
    dir_mode: int,
    writable_dirs: tuple[str, ...] = (),
    base: str = HOME,
) -> None:
    """Create ``dest`` (relative to ``base``) holding ``files``; refuse if it exists."""
    dest = safe_relpath(dest)
    if path_stat(container, f"{base}/{dest}") is not None:
        raise WorkspaceError(f"{dest} already exists; nothing was overwritten")
    buf = io.BytesIO()
    dirs: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_dir(path: str, mode: int, owner: int, group: int) -> None:
            if path in dirs:
                return
            dirs.add(path)
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, owner, group
            tar.addfile(info)

        parts = PurePosixPath(dest).parts
        for i in range(1, len(parts)):
            sub = "/".join(parts[:i])
            if path_stat(container, f"{base}/{sub}") is None:
                add_dir(sub, 0o755, uid, gid)
        add_dir(dest, dir_mode, uid, gid)
        for sub in writable_dirs:
            add_dir(f"{dest}/{safe_relpath(sub)}", 0o700, USER_UID, USER_GID)
        for f in files:
            rel = safe_relpath(f.path)
            for i in range(1, len(PurePosixPath(rel).parts)):
                add_dir(f"{dest}/{'/'.join(PurePosixPath(rel).parts[:i])}", dir_mode, uid, gid)
            info = tarfile.TarInfo(f"{dest}/{rel}")
            info.size, info.mode, info.uid, info.gid = len(f.data), file_mode, uid, gid
            tar.addfile(info, io.BytesIO(f.data))
    if not container.put_archive(base, buf.getvalue()):
        raise WorkspaceError(f"the engine refused to write {dest}")
