"""Fixtures for the airlock tests: published datasets, a ledger with a permission, volumes."""

from __future__ import annotations

import io
import secrets
import shutil
import stat
import tarfile
from pathlib import Path

import docker
import duckdb
import pytest

from tests.conftest import unique_prefix
from tests.integration.fixtures import IMAGE
from tests.integration.hubproc import publish
from tests.integration.ledger_helpers import permission_body, publish_restricted

# A value planted in the restricted dataset dk-marker (a cause of death): a test shows that
# it appears nowhere a researcher can read before release. Its prefix is what a notebook
# may know; the whole value is new each session.
MARKER_PREFIX = "quokka-"
MARKER = MARKER_PREFIX + secrets.token_hex(6)


@pytest.fixture(scope="session")
def data_roots(tmp_path_factory):
    synthetic = tmp_path_factory.mktemp("synthetic")
    restricted = tmp_path_factory.mktemp("restricted")
    publish(synthetic, 11)
    publish_restricted(restricted, "dk-restricted", 101)
    plant_marker(restricted, "dk-restricted", "dk-marker")
    return synthetic, restricted


def plant_marker(root: Path, source: str, name: str) -> None:
    """Publish ``name``: a copy of the restricted dataset ``source`` whose first cause of
    death (``dodsaars.c_dod1``, first row) is :data:`MARKER`."""
    src = (root / source / "current").resolve()
    dest = root / name / src.name
    shutil.copytree(src, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (table,) = (dest / "dodsaars").glob("*.parquet")
    con = duckdb.connect()
    try:
        con.execute(
            f"copy (select * replace (case when row_number() over () = 1 then '{MARKER}' "
            f"else c_dod1 end as c_dod1) from read_parquet('{table}')) "
            f"to '{table}.new' (format parquet)"
        )
    finally:
        con.close()
    Path(f"{table}.new").replace(table)
    (root / name / "current").symlink_to(src.name)


def put_files(client, volume: str, files: dict[str, bytes], uid: int = 1000) -> None:
    """Write files into a volume (as the sandbox user would have), creating it if needed."""
    c = client.containers.create(
        IMAGE,
        ["true"],
        entrypoint=[],
        name=unique_prefix("files"),  # a test's container: prefixed, so a leak is seen as ours
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
        name=unique_prefix("files"),  # a test's container: prefixed, so a leak is seen as ours
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
