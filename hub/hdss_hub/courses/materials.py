"""Course materials: a pinned snapshot on the host, merged into each student's home.

``prepare(course, cache_root)`` reads the materials once at hub start: a git repository
is cloned and its pinned revision exported (``git archive``), a folder is copied and its
content digest checked against ``digest`` when one is given. The snapshot lives in
``<cache_root>/<course>/<commit or digest>/`` and never changes afterwards.

``sync_into_volume`` merges a snapshot into ``~/<course>/`` of a home volume the way
nbgitpuller does: a file the student does not have is copied, a file the student has not
changed since it was delivered is updated, a file the student changed is kept. What was
delivered is remembered in ``~/<course>/.hdss-materials.json`` (path -> sha256). It works
through the engine's archive API on a container that is created but never started (no
process runs, no network), so it suits the read-only, hardened servers.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .model import Course, CourseError

DELIVERED = ".hdss-materials.json"
HOME_UID, HOME_GID = 1000, 100  # hdss_common.containers.NON_ROOT_USER


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=False,
        timeout=300,
        env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"},
    )


def folder_digest(folder: Path) -> str:
    """SHA-256 over the sorted relative paths and contents of every file under ``folder``."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def prepare(course: Course, cache_root: Path) -> Path | None:
    """The snapshot folder of ``course``'s materials (None: it has none); CourseError if
    the materials cannot be read or the pinned revision is missing."""
    m = course.materials
    if m is None:
        return None
    if m.git:
        return _prepare_git(course, cache_root / course.name)
    return _prepare_folder(course, cache_root / course.name)


def _prepare_git(course: Course, cache: Path) -> Path:
    m = course.materials
    if len(m.revision) == 40 and (cache / m.revision / ".complete").exists():
        return cache / m.revision
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        clone = Path(tmp, "repo")
        r = _git("clone", "--quiet", "--no-checkout", m.git, str(clone))
        if r.returncode != 0:
            raise CourseError(
                f"course {course.name}: the materials repository {m.git} cannot be read "
                f"({r.stderr.decode(errors='replace').strip()}); fix courses.{course.name}."
                "materials.git or give the hub access to it"
            )
        r = _git("rev-parse", "--verify", "--quiet", f"{m.revision}^{{commit}}", cwd=clone)
        if r.returncode != 0:
            raise CourseError(
                f"course {course.name}: revision {m.revision} is not in {m.git}; push it or "
                f"fix courses.{course.name}.materials.revision"
            )
        commit = r.stdout.decode().strip()
        dest = cache / commit
        if (dest / ".complete").exists():
            return dest
        args = ["archive", "--format=tar", commit]
        if m.subdir:
            args.append(m.subdir.strip("/"))
        r = _git(*args, cwd=clone)
        if r.returncode != 0:
            raise CourseError(
                f"course {course.name}: {m.subdir!r} is not a folder of {m.git} at {commit}; "
                f"fix courses.{course.name}.materials.subdir"
            )
        staging = Path(tmp, "export")
        _extract_files(r.stdout, staging)
        source = staging / m.subdir.strip("/") if m.subdir else staging
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)
    (dest / ".complete").write_text(commit + "\n")
    return dest


def _extract_files(tar_bytes: bytes, dest: Path) -> None:
    """Only the regular files and folders of a tar, never outside ``dest`` (no links)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.name.startswith("/") or ".." in parts:
                continue
            if member.isdir():
                (dest / member.name).mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                (dest / member.name).parent.mkdir(parents=True, exist_ok=True)
                (dest / member.name).write_bytes(tar.extractfile(member).read())


def _prepare_folder(course: Course, cache: Path) -> Path:
    m = course.materials
    folder = Path(m.folder)
    if not folder.is_dir():
        raise CourseError(
            f"course {course.name}: the materials folder {folder} does not exist or cannot be "
            f"read; fix courses.{course.name}.materials.folder"
        )
    digest = folder_digest(folder)
    if m.digest and m.digest != digest:
        raise CourseError(
            f"course {course.name}: the materials folder {folder} changed (digest {digest}, "
            f"pinned {m.digest}); pin the new digest in courses.{course.name}.materials.digest "
            "or restore the folder"
        )
    dest = cache / digest
    if not (dest / ".complete").exists():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(folder, dest)
        (dest / ".complete").write_text(digest + "\n")
    return dest


def snapshot_files(snapshot: Path) -> dict[str, bytes]:
    """relative path -> content of every file of a snapshot (its marker left out)."""
    return {
        p.relative_to(snapshot).as_posix(): p.read_bytes()
        for p in sorted(snapshot.rglob("*"))
        if p.is_file() and p.relative_to(snapshot).as_posix() != ".complete"
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class MergePlan:
    """What a merge writes (path -> content), keeps (changed by the student), and the
    delivered record afterwards."""

    write: dict[str, bytes] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    delivered: dict[str, str] = field(default_factory=dict)


def plan_merge(
    materials: dict[str, bytes], home: dict[str, str], delivered: dict[str, str]
) -> MergePlan:
    """nbgitpuller's rule. ``home``: path -> sha256 of the student's files now;
    ``delivered``: path -> sha256 of what the last merge wrote."""
    plan = MergePlan(delivered=dict(delivered))
    for path, content in materials.items():
        new = sha256(content)
        have = home.get(path)
        if have is None or (have == delivered.get(path) and have != new):
            plan.write[path] = content
            plan.delivered[path] = new
        elif have != new:
            plan.kept.append(path)  # the student's edit wins
        else:
            plan.delivered[path] = new
    return plan


def _home_files(tar_bytes: bytes, prefix: str) -> dict[str, str]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for member in tar:
            if member.isfile():
                rel = member.name.split("/", 1)[1] if "/" in member.name else ""
                f = tar.extractfile(member)
                if rel and f is not None:
                    out[rel] = sha256(f.read())
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes | None) -> None:
    info = tarfile.TarInfo(name)
    info.uid, info.gid = HOME_UID, HOME_GID
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))


def build_tar(folder: str, files: dict[str, bytes]) -> bytes:
    """An uncompressed tar of ``files`` under ``folder/``, owned by the server's user."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = {folder}
        for path in files:
            parts = path.split("/")[:-1]
            for i in range(len(parts)):
                dirs.add("/".join([folder, *parts[: i + 1]]))
        for d in sorted(dirs):
            _add(tar, d, None)
        for path, data in sorted(files.items()):
            _add(tar, f"{folder}/{path}", data)
    return buf.getvalue()


def sync_into_volume(
    client, image: str, volume: str, home_path: str, course: str, snapshot: Path
) -> MergePlan:
    """Merge ``snapshot`` into ``<home>/<course>/`` of ``volume`` (see the module doc)."""
    import docker.errors

    container = client.containers.create(
        image,
        name=f"{volume}-materials-{secrets.token_hex(3)}",
        command=["true"],
        network_disabled=True,
        user="1000:100",
        volumes={volume: {"bind": home_path, "mode": "rw"}},
        labels={"org.hdss.course-materials": course},
    )
    try:
        target = f"{home_path}/{course}"
        try:
            stream, _ = container.get_archive(target)
            home = _home_files(b"".join(stream), course)
        except docker.errors.NotFound:
            home = {}
        delivered: dict[str, str] = {}
        if DELIVERED in home:
            stream, _ = container.get_archive(f"{target}/{DELIVERED}")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                member = tar.next()
                f = tar.extractfile(member) if member else None
                try:
                    delivered = json.loads(f.read()) if f else {}
                except ValueError:
                    delivered = {}
        plan = plan_merge(snapshot_files(snapshot), home, delivered)
        record = json.dumps(plan.delivered, indent=1, sort_keys=True).encode()
        container.put_archive(home_path, build_tar(course, {**plan.write, DELIVERED: record}))
        return plan
    finally:
        container.remove(force=True)
