"""The data and container policy, as pure functions the spawner applies at create time.

- Every catalogued synthetic dataset is bind-mounted read-only at /data/synthetic/<name>.
- Nothing else from the host is mounted: volumes must be named Docker volumes.
- Containers run as a non-root uid with every capability dropped, no-new-privileges
  and a pids limit; the Docker socket is never reachable.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdss_common import containers
from hdss_common.catalog import CatalogEntry, Sensitivity
from hdss_common.errors import PolicyViolation
from tornado.web import HTTPError

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def dataset_binds(entries: Iterable[CatalogEntry], sensitivity: Sensitivity) -> dict[str, dict]:
    """Read-only binds (DockerSpawner's ``read_only_volumes`` form) for one sensitivity."""
    return {str(e.path): e.mount_path for e in entries if e.sensitivity == sensitivity}


def check_volumes(volumes: dict[str, object]) -> None:
    """Refuse any host path among the writable volumes (named volumes only).

    Host paths reach a container only through the catalogue's read-only dataset binds.
    """
    for source in volumes:
        if source.startswith("/") or source.startswith("."):
            raise HTTPError(
                500,
                f"Refusing to start: the volume {source!r} is a host path. Only named "
                "volumes and catalogued datasets may be mounted; fix docker.volumes in the "
                "hub configuration.",
            )


def hardened_host_config(extra: dict | None, pids_limit: int) -> dict:
    """``extra`` host config with the shared hardening laid over it; 500 if it breaks policy."""
    try:
        return containers.hardened_host_config(extra, pids_limit)
    except PolicyViolation as e:
        raise HTTPError(500, str(e)) from e


def check_binds(binds: dict[str, dict], allowed_host_paths: Iterable[str]) -> None:
    """Final check on what goes to Docker: host paths only if catalogued, never a socket."""
    allowed = set(allowed_host_paths)
    for source, spec in binds.items():
        if not source.startswith("/"):
            continue
        if source in DOCKER_SOCKETS or source.endswith("docker.sock"):
            raise HTTPError(500, "Refusing to start: the Docker socket must never be mounted.")
        if source not in allowed or spec.get("mode") != "ro":
            raise HTTPError(
                500,
                f"Refusing to start: host path {source} is not a catalogued dataset mounted "
                "read-only.",
            )
