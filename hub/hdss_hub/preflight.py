"""Checks made before the hub starts: each failure is one message saying what to do."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import docker
import docker.errors
import requests
import sqlalchemy as sa
from hdss_common.db import make_engine
from hdss_common.errors import HdssError


class PreflightError(HdssError):
    """The hub cannot start; the message says what is wrong and what to do."""


def docker_client(host: str, timeout: int = 10) -> docker.DockerClient:
    """A client for the engine at ``host`` that has answered a ping."""
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.RequestException, OSError) as e:
        raise PreflightError(
            f"the Docker engine at {host} does not answer ({e.__class__.__name__}). "
            "Start it (`make up` starts dockerd; or `systemctl start docker`) "
            "or set docker.host in the settings."
        ) from e


def ensure_network(client: docker.DockerClient, name: str, internal: bool = False) -> str:
    """Create the bridge network ``name`` if absent; return its gateway address."""
    try:
        try:
            network = client.networks.get(name)
        except docker.errors.NotFound:
            network = client.networks.create(name, driver="bridge", internal=internal)
            network.reload()
    except docker.errors.APIError as e:
        raise PreflightError(
            f"the Docker engine refused to set up the network {name} (docker.network): "
            f"{engine_message(e)}. Free an address range or remove a clashing network "
            "(/usr/bin/docker network ls), or set docker.network in the settings."
        ) from e
    if internal and not network.attrs.get("Internal"):
        raise PreflightError(
            f"the Docker network {name} must be --internal (no egress) but is not; remove it "
            f"(/usr/bin/docker network rm {name}) so the hub creates it correctly"
        )
    configs = network.attrs.get("IPAM", {}).get("Config") or []
    for config in configs:
        if config.get("Gateway"):
            return config["Gateway"]
    raise PreflightError(
        f"the Docker network {name} has no gateway address; remove it "
        f"(/usr/bin/docker network rm {name}) so it is created afresh"
    )


def check_image(client: docker.DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound as e:
        raise PreflightError(
            f"the single-user image {image} is not in the engine: build it with `make images` "
            "or set docker.image in the settings"
        ) from e
    except docker.errors.APIError as e:
        raise PreflightError(
            f"the Docker engine could not inspect the image {image} (docker.image): "
            f"{engine_message(e)}. Check the engine (`/usr/bin/docker info`) and the image name."
        ) from e


def engine_message(error: docker.errors.APIError) -> str:
    """The engine's own explanation of an API error, on one line."""
    text = error.explanation or str(error)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return " ".join(str(text).split())


def check_state_dir(path: str) -> None:
    """The hub's state directory exists (created if absent) and is writable."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PreflightError(
            f"hub.state_dir {path} cannot be created ({e.strerror}): create it, make it "
            "writable for the hub, or set hub.state_dir to a writable directory"
        ) from e
    if not os.access(path, os.W_OK | os.X_OK):
        raise PreflightError(
            f"hub.state_dir {path} is not writable for the hub: fix its owner or mode, or set "
            "hub.state_dir to a writable directory"
        )


def check_restricted_root(root: str | None) -> None:
    """With the ledger on, the restricted datasets' directory must exist (it may be empty)."""
    if not root or not Path(root).is_dir():
        raise PreflightError(
            f"data.restricted_root {root or '(not set)'} is not a directory, and secure servers "
            "mount restricted data from it: publish the restricted datasets (`make dataset "
            "OUT=<dir> DATASET_ARGS='--sensitivity restricted'`), create the directory, or set "
            "data.restricted_root in the settings"
        )


def check_database(url: str, setting: str) -> None:
    """The database at ``url`` accepts a connection (a bad URL stops the hub, not a spawn)."""
    try:
        engine = make_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as e:
        raise PreflightError(
            f"{setting} is not a usable database URL ({e.__class__.__name__}: {e}); "
            "use e.g. postgresql+psycopg://user@host/db or sqlite:////abs/path.sqlite"
        ) from e
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as e:
        reason = " ".join(str(getattr(e, "orig", e)).split())
        raise PreflightError(
            f"the database of {setting} does not accept a connection ({reason}): check the "
            "server, the credentials and the path, or fix the URL in the settings"
        ) from e
    finally:
        engine.dispose()


def check_data_root(root: str) -> None:
    if not Path(root).is_dir():
        raise PreflightError(
            f"the dataset directory {root} does not exist: generate the synthetic data "
            f"(`make dataset OUT={root}`) or set data.synthetic_root in the settings"
        )


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def check_port_free(url: str, what: str, setting: str, owner_pid_file: Path | None = None) -> None:
    """Refuse a port another program holds (our own proxy from a pid file is fine)."""
    if owner_pid_file is not None and _pid_alive(owner_pid_file):
        return
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PreflightError(
                    f"port {port} on {host} ({what}) is already in use: stop whatever holds it "
                    f"(another hub? `make down`), or set {setting} in the settings"
                ) from e
            raise PreflightError(f"cannot listen on {host}:{port} ({what}): {e}") from e
