"""A small client of Debian's ``restic`` command: repository, password file, snapshots.

The password never appears on a command line or in a log: restic reads it from the file
named by ``RESTIC_PASSWORD_FILE`` (mode 0600, generated when a new repository is made).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from hdss_common.errors import HdssError
from hdss_common.secretfiles import SecretFileError, ensure_secret_file, read_secret_file

#: restic backends other than a local folder (``<backend>:...``).
REMOTE = re.compile(r"^(sftp|rest|s3|b2|azure|gs|swift|rclone):")
TAG = "hdss"


class BackupError(HdssError):
    """A backup or restore step failed; the message names the step and what to do."""


def is_local(repository: str) -> bool:
    return not REMOTE.match(repository)


def _local_path(repository: str) -> Path:
    return Path(repository.removeprefix("local:"))


class Restic:
    """One restic repository opened with one password file."""

    def __init__(
        self, repository: str, password_file: Path, cache_dir: Path, host: str, binary: str = ""
    ) -> None:
        self.repository = repository
        self.password_file = Path(password_file)
        self.cache_dir = Path(cache_dir)
        self.host = host
        self.binary = binary or shutil.which("restic") or "restic"

    # -- plumbing ------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "TMPDIR", "SSH_AUTH_SOCK")
        env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("AWS_")}
        env.update(
            RESTIC_REPOSITORY=self.repository,
            RESTIC_PASSWORD_FILE=str(self.password_file),
            RESTIC_CACHE_DIR=str(self.cache_dir),
        )
        return env

    def _popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        try:
            return subprocess.Popen([self.binary, *args], env=self._env(), **kwargs)
        except FileNotFoundError:
            raise BackupError(
                f"the restic command ({self.binary}) is not installed: apt-get install restic "
                "(make host-deps installs it)"
            ) from None

    def _failed(self, what: str, stderr: str) -> BackupError:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        detail = "; ".join(lines[-3:]) or "no message"
        hint = ""
        if "wrong password" in stderr:
            hint = (
                f" The password in {self.password_file} does not open this repository: "
                "restore the file from where you keep its copy."
            )
        elif "unable to open config file" in stderr or "Is there a repository" in stderr:
            hint = (
                f" Check that the repository {self.repository} (backup.repository) is "
                "reachable; a new remote repository is made with `hdss-backup init`."
            )
        return BackupError(f"restic {what} failed: {detail}.{hint}")

    def run(self, *args: str, what: str = "", cwd: Path | None = None) -> str:
        proc = self._popen(
            list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
        )
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise self._failed(what or args[0], err.decode(errors="replace"))
        return out.decode(errors="replace")

    # -- the repository -------------------------------------------------------------------

    def password_problem(self) -> str:
        """Why the password file cannot be used ('' when it can)."""
        if not self.password_file.exists():
            new = (
                ""
                if is_local(self.repository)
                else "; a new remote repository is made with `hdss-backup init`"
            )
            return (
                f"the repository password file {self.password_file} (backup.password_file) is "
                "missing: restore it from where you keep its copy (a new password cannot "
                f"open an existing repository){new}"
            )
        try:
            read_secret_file(self.password_file)
        except (SecretFileError, OSError) as e:
            return f"the repository password file cannot be used: {e}"
        return ""

    def local_repository_absent(self) -> bool:
        if not is_local(self.repository):
            return False
        path = _local_path(self.repository)
        return not path.exists() or (path.is_dir() and not any(path.iterdir()))

    def init(self) -> None:
        """Make a new repository, generating its password file (mode 0600) if absent."""
        ensure_secret_file(self.password_file, nbytes=32)
        if is_local(self.repository):
            _local_path(self.repository).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.run("init", what=f"init of {self.repository}")

    def open(self, create: bool) -> None:
        """Check that the repository answers and the password opens it.

        ``create``: a local repository that does not exist yet is made (with a new
        password file); a remote one is made only by :meth:`init`.
        """
        if create and self.local_repository_absent():
            if self.password_file.exists():
                read_secret_file(self.password_file)  # a bad mode is refused, not used
            self.init()
            return
        problem = self.password_problem()
        if problem:
            raise BackupError(problem)
        self.run("cat", "config", what=f"opening the repository {self.repository}")

    # -- snapshots -----------------------------------------------------------------------

    def _tags(self, tags: Iterable[str]) -> list[str]:
        return ["--tag", ",".join([TAG, *tags])]

    @staticmethod
    def _snapshot_id(output: str, what: str) -> str:
        for line in reversed(output.strip().splitlines()):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("message_type") == "summary" and message.get("snapshot_id"):
                return message["snapshot_id"]
        raise BackupError(f"restic backup of {what} reported no snapshot")

    def backup_folder(self, folder: Path, tags: list[str], what: str) -> str:
        """Back up a folder, stored as ``/<its name>`` in the snapshot; returns the snapshot id.

        restic keeps the path of a relative argument from its last part, so restic runs in
        the folder's parent: :meth:`dump` of ``/<name>`` finds it wherever it was.
        """
        out = self.run(
            "backup",
            "--json",
            "--host",
            self.host,
            *self._tags(tags),
            folder.name,
            what=f"backup of {what}",
            cwd=folder.parent,
        )
        return self._snapshot_id(out, what)

    def backup_stream(self, chunks: Iterable[bytes], filename: str, tags: list[str]) -> str:
        """Back up a byte stream as one file; returns the snapshot id.

        When ``chunks`` raises, restic is interrupted before the stream ends, so no
        truncated snapshot is saved, and the exception is raised again.
        """
        proc = self._popen(
            [
                "backup",
                "--json",
                "--host",
                self.host,
                "--stdin",
                "--stdin-filename",
                filename,
                *self._tags(tags),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BaseException:
            proc.send_signal(signal.SIGINT)  # restic stops without saving a snapshot
            proc.communicate()
            raise
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise self._failed(f"backup of {filename}", err.decode(errors="replace"))
        return self._snapshot_id(out.decode(errors="replace"), filename)

    def snapshots(self, tags: Iterable[str] = ()) -> list[dict]:
        out = self.run("snapshots", "--json", *self._tags(tags), what="listing snapshots")
        return json.loads(out or "[]") or []

    @contextmanager
    def dump(self, snapshot: str, path: str) -> Iterator[IO[bytes]]:
        """A stream of ``path`` in ``snapshot`` (a folder comes as a tar)."""
        proc = self._popen(["dump", snapshot, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            err = proc.stderr.read() if proc.stderr else b""
            if proc.wait() != 0:
                raise self._failed(f"dump of {path} from {snapshot}", err.decode(errors="replace"))

    def read(self, snapshot: str, path: str) -> bytes:
        with self.dump(snapshot, path) as stream:
            return stream.read()

    def kept_by_policy(self, tags: list[str], keep: dict[str, int]) -> set[str]:
        """Ids of the snapshots with ``tags`` that the keep policy keeps (nothing removed)."""
        args = ["forget", "--dry-run", "--json", "--group-by", "host", *self._tags(tags)]
        for name, value in keep.items():
            args += [f"--keep-{name}", str(value)]
        groups = json.loads(self.run(*args, what="retention policy") or "[]") or []
        return {s["id"] for g in groups for s in g.get("keep") or []}

    def forget(self, ids: list[str], prune: bool) -> None:
        if ids:
            self.run("forget", *ids, what="forget")
        if prune:
            self.run("prune", what="prune")
