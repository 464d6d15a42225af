"""Home and project volumes, read and written through the Docker engine's archive API.

Why through the engine, not restic on the volume's host folder: it works wherever the hub's
engine is (a TCP or rootless engine, a data root elsewhere, a volume driver whose data is
not a host folder), needs no root on the backup side, and never touches a host path. A
*created, never started* helper container from the deployment's own image holds the volume
(read-only for a backup), with the container hardening of every other container; the engine
streams the volume as a tar (``GET /containers/<id>/archive``), which goes straight into
``restic backup --stdin``. No process runs in the helper, so nothing in the volume is
executed, and the helper is removed at once. A restore streams ``restic dump`` into a new
volume the same way (``PUT .../archive``); owners and modes come back from the tar.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import docker
import requests
from hdss_common import naming
from hdss_common.containers import NON_ROOT_USER, hardened_host_config

from .restic import BackupError

MOUNT = "/volume"
CHUNK = 1 << 20
HELPER_LABEL = "hdss.backup-helper"


def volume_pattern(prefix: str, home_template: str) -> re.Pattern[str]:
    """Names of the deployment's home volumes (from the template) and project volumes."""
    home = re.escape(home_template)
    for field in ("{username}", "{safe_username}"):
        home = home.replace(re.escape(field), "[a-z0-9-]+")
    home = home.replace(re.escape("{prefix}"), re.escape(prefix))
    project = re.escape(naming.project_volume(prefix, "")) + "[A-Za-z0-9_.-]+"
    return re.compile(f"^(?:{home}|{project})$")


def list_volumes(client: docker.DockerClient, prefix: str, home_template: str) -> list[str]:
    pattern = volume_pattern(prefix, home_template)
    try:
        names = [v.name for v in client.volumes.list()]
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise BackupError(f"cannot list the engine's volumes: {e}") from e
    return sorted(n for n in names if pattern.match(n))


def volume_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        return False
    return True


@contextmanager
def _helper(client: docker.DockerClient, image: str, prefix: str, volume: str, read_only: bool):
    host_config = hardened_host_config({}, pids_limit=16)
    try:
        container = client.containers.create(
            image,
            ["true"],
            name=f"{prefix}-backup-{secrets.token_hex(4)}",
            user=NON_ROOT_USER,
            network_mode="none",
            # The restore helper's root is writable: the engine refuses an archive PUT at /
            # of a read-only root file system (nothing runs in it either way).
            read_only=read_only,
            volumes={volume: {"bind": MOUNT, "mode": "ro" if read_only else "rw"}},
            labels={HELPER_LABEL: volume},
            **host_config,
        )
    except docker.errors.ImageNotFound:
        raise BackupError(
            f"the image {image} (docker.image) is not on the engine: build it (make images)"
        ) from None
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise BackupError(f"cannot create the helper container for volume {volume}: {e}") from e
    try:
        yield container
    finally:
        try:
            container.remove(force=True)
        except (docker.errors.DockerException, requests.RequestException):
            pass


def read_volume(
    client: docker.DockerClient, image: str, prefix: str, volume: str
) -> Iterator[bytes]:
    """The volume's files as a tar stream (entries under ``volume/``)."""
    with _helper(client, image, prefix, volume, read_only=True) as helper:
        try:
            stream, _ = helper.get_archive(MOUNT, chunk_size=CHUNK)
            yield from stream
        except (docker.errors.DockerException, requests.RequestException) as e:
            raise BackupError(f"volume {volume} cannot be read: {_explain(e)}") from e


def write_volume(
    client: docker.DockerClient, image: str, prefix: str, volume: str, tar: IO[bytes]
) -> None:
    """Create ``volume`` and fill it from a tar stream made by :func:`read_volume`."""
    if volume_exists(client, volume):
        raise BackupError(
            f"volume {volume} exists: a restore never writes over a volume; remove it "
            "(docker volume rm) if its contents should be replaced by the backup"
        )
    try:
        client.volumes.create(volume, labels={"hdss.restored": "1"})
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise BackupError(f"cannot create volume {volume}: {e}") from e

    def chunks() -> Iterator[bytes]:
        while block := tar.read(CHUNK):
            yield block

    with _helper(client, image, prefix, volume, read_only=False) as helper:
        try:
            ok = helper.put_archive("/", chunks())
        except (docker.errors.DockerException, requests.RequestException) as e:
            raise BackupError(f"volume {volume} cannot be written: {_explain(e)}") from e
    if not ok:
        raise BackupError(f"the engine did not accept the files of volume {volume}")


def _explain(e: Exception) -> str:
    text = getattr(e, "explanation", None) or str(e)
    return str(text)
