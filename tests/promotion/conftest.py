"""Fixtures for the airlock tests: published datasets, a ledger with a permission, volumes."""

from __future__ import annotations

import io
import tarfile

import docker
import pytest

from tests.conftest import unique_prefix
from tests.integration.fixtures import IMAGE
from tests.integration.hubproc import publish
from tests.integration.ledger_helpers import permission_body, publish_restricted


@pytest.fixture(scope="session")
def data_roots(tmp_path_factory):
    synthetic = tmp_path_factory.mktemp("synthetic")
    restricted = tmp_path_factory.mktemp("restricted")
    publish(synthetic, 11)
    publish_restricted(restricted, "dk-restricted", 101)
    return synthetic, restricted


def put_files(client, volume: str, files: dict[str, bytes], uid: int = 1000) -> None:
    """Write files into a volume (as the sandbox user would have), creating it if needed."""
    c = client.containers.create(
        IMAGE,
        ["true"],
        entrypoint=[],
        network_mode="none",
        volumes={volume: {"bind": "/home/jovyan", "mode": "rw"}},
    )
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                if data.startswith(b"symlink:"):
                    info.type, info.linkname = tarfile.SYMTYPE, data[8:].decode()
                    tar.addfile(info)
                    continue
                info.size, info.uid, info.gid, info.mode = len(data), uid, 100, 0o644
                tar.addfile(info, io.BytesIO(data))
        assert c.put_archive("/home/jovyan", buf.getvalue())
    finally:
        c.remove(force=True)


def list_files(client, volume: str, path: str) -> dict[str, bytes]:
    """The regular files under /home/jovyan/<path> in a volume ({} if it is missing).

    Only a missing path counts as "nothing there": any other engine error raises, so a
    "nothing was released" assertion cannot pass on a failure to look.
    """
    c = client.containers.create(
        IMAGE,
        ["true"],
        entrypoint=[],
        network_mode="none",
        volumes={volume: {"bind": "/home/jovyan", "mode": "ro"}},
    )
    try:
        try:
            stream, _ = c.get_archive(f"/home/jovyan/{path}")
        except docker.errors.NotFound:
            return {}
        data = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=data) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    finally:
        c.remove(force=True)


def permission(project: str, members: list[str], reference: str) -> dict:
    return permission_body(
        project, members, ["dk-restricted"], reference, "Research approval (test)"
    )


@pytest.fixture
def prefix(engine):
    name = unique_prefix("promo")
    yield name
    for container in engine.containers.list(all=True, filters={"name": name}):
        container.remove(force=True)
    for volume in engine.volumes.list(filters={"name": name}):
        volume.remove(force=True)
