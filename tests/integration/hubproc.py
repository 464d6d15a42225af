"""A real hub for the integration tests: JupyterHub, configurable-http-proxy, Docker.

The hub runs as a subprocess with its own settings file, state directory, ports and
Docker prefix; a test-only admin service (token generated per run, never printed)
drives it through the REST API. Everything it made is removed by `cleanup()`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import requests
import yaml
from hdss_harness.procs import free_port, free_port_pair, log_tail, start_server, stop_server
from hdss_harness.wait import wait_until
from hdss_hub.firewall import SecureFirewall

from tests.conftest import PROJECT_DIR, VENV_BIN

READY_DEADLINE = 240  # seconds; 2 cores under load are slow, never assert on timing


def publish(root: Path, seed: int, *extra: str) -> None:
    """Publish a tiny dataset under ``root`` with the real generator (``extra``: its options)."""
    subprocess.run(
        [
            str(VENV_BIN / "hdss-dataset"),
            "generate",
            "--size",
            "tiny",
            "--seed",
            str(seed),
            "--out",
            str(root),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


class Hub:
    def __init__(self, workdir: Path, prefix: str, synthetic_root: Path, extra: dict | None = None):
        self.workdir = workdir
        self.prefix = prefix
        self.port = free_port_pair()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.state = workdir / "state"
        self.log_path = workdir / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None
        settings = {
            "hub": {
                "bind_url": self.url,
                "hub_port": free_port(),
                "state_dir": str(self.state),
                "extra_config_dir": str(workdir / "config.d"),
                "admin_users": ["admin"],
            },
            "docker": {"prefix": prefix, "network": f"{prefix}-net", "start_timeout": 180},
            "data": {
                "synthetic_root": str(synthetic_root),
                "restricted_root": str(workdir / "restricted"),
            },
            "groups": {"students": [f"{prefix}-stu"], "researchers": [f"{prefix}-res"]},
            "culler": {"enabled": True, "timeout_seconds": 3600, "every_seconds": 60},
            "ledger": {"port": free_port()},
            "promotion": {"port": free_port()},
        }
        for section, values in (extra or {}).items():
            if isinstance(values, dict):
                settings.setdefault(section, {}).update(values)
            else:  # a top-level value, e.g. backend
                settings[section] = values
        self.settings_path = workdir / "settings.yaml"
        self.settings_path.write_text(yaml.safe_dump(settings))
        config_d = workdir / "config.d"
        config_d.mkdir(parents=True, exist_ok=True)
        (workdir / "restricted").mkdir(exist_ok=True)  # an empty restricted root by default
        token_file = workdir / "admin-token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        # Test-only admin service, added through the escape hatch.
        (config_d / "test_admin.py").write_text(
            "from pathlib import Path\n"
            "c = get_config()  # noqa\n"
            f"_token = Path({str(token_file)!r}).read_text().strip()\n"
            "c.JupyterHub.services.append({'name': 'hdsstest-admin', 'api_token': _token})\n"
            "c.JupyterHub.load_roles.append({\n"
            "    'name': 'hdsstest-admin', 'services': ['hdsstest-admin'],\n"
            "    'scopes': ['admin:users', 'admin:servers', 'tokens', 'access:servers',\n"
            "               'admin:groups', 'admin:server_state', 'list:services', 'read:services', 'read:hub']})\n"
        )

    # -- process ---------------------------------------------------------------------

    def start(self) -> None:
        self.proc = start_server(
            [str(VENV_BIN / "jupyterhub"), "-f", str(PROJECT_DIR / "jupyterhub_config.py")],
            self.log_path,
            f"{self.url}/hub/api/",
            what="the hub",
            env={"HDSS_SETTINGS": str(self.settings_path)},
            cwd=self.workdir,
            tail=self.log_tail,
        )

    def stop(self) -> None:
        stop_server(self.proc)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        return re.sub(r"(token|password)=\S+", r"\1=<hidden>", log_tail(self.log_path, lines))

    # -- REST API --------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

    def password(self, username: str) -> str:
        """The first-run password ``username`` logs in with: their own, else the shared one."""
        own = self.state / "secrets" / "passwords" / username
        path = own if own.exists() else self.state / "secrets" / "user-password"
        return path.read_text().strip()

    def user_token(self, username: str) -> str:
        r = self.api("POST", f"/users/{username}/tokens", json={"note": "hdsstest"})
        r.raise_for_status()
        return r.json()["token"]

    def ensure_user(self, username: str) -> None:
        r = self.api("GET", f"/users/{username}")
        if r.status_code == 404:
            self.api("POST", f"/users/{username}").raise_for_status()

    def spawn(self, username: str, server: str = "", **options) -> requests.Response:
        path = f"/users/{username}/servers/{server}" if server else f"/users/{username}/server"
        return self.api("POST", path, json=options)

    def server_state(self, username: str, server: str = "") -> dict | None:
        r = self.api("GET", f"/users/{username}")
        r.raise_for_status()
        return r.json().get("servers", {}).get(server)

    def wait_ready(self, username: str, server: str = "", deadline: float = READY_DEADLINE) -> dict:
        start = time.monotonic()

        def ready() -> dict | None:
            state = self.server_state(username, server)
            if state is None and time.monotonic() - start > 10:
                raise AssertionError(
                    f"server of {username} stopped while starting:\n{self.log_tail()}"
                )
            return state if state and state.get("ready") else None

        return wait_until(
            ready, deadline, 1, lambda: f"server of {username} not ready:\n{self.log_tail()}"
        )

    def wait_stopped(self, username: str, server: str = "", deadline: float = 120) -> None:
        wait_until(
            lambda: self.server_state(username, server) is None,
            deadline,
            1,
            f"server of {username} did not stop",
        )

    def stop_server(self, username: str, server: str = "") -> None:
        path = f"/users/{username}/servers/{server}" if server else f"/users/{username}/server"
        r = self.api("DELETE", path)
        assert r.status_code in (202, 204), r.text
        self.wait_stopped(username, server)

    def progress_events(self, username: str, server: str = "", limit: float = 180) -> list[dict]:
        """The spawn progress stream as the user's page reads it, until ready or failed."""
        path = (
            f"/users/{username}/servers/{server}/progress"
            if server
            else f"/users/{username}/server/progress"
        )
        events = []
        with self.api("GET", path, stream=True) as r:
            r.raise_for_status()
            end = time.monotonic() + limit
            for line in r.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    events.append(event)
                    if event.get("ready") or event.get("failed"):
                        break
                if time.monotonic() > end:
                    break
        return events

    def container_name(self, username: str, server: str = "") -> str:
        """The spawner's container for this server, from the hub's stored state."""
        return self.server_state(username, server)["state"]["object_name"]


# Every hub running now, by its Docker prefix, with the engine that runs its containers.
# ``running_hub`` adds and removes them; a failed test gets their logs (the report hook in
# tests.integration.fixtures), whichever fixture started them.
LIVE_HUBS: dict[str, tuple[Hub, object]] = {}


def cleanup_docker(client, prefix: str) -> None:
    """Remove every container, volume and network whose name starts with ``prefix``."""
    for container in client.containers.list(all=True, filters={"name": prefix}):
        if container.name.startswith(prefix):
            container.remove(force=True)
    for volume in client.volumes.list(filters={"name": prefix}):
        if volume.name.startswith(prefix):
            volume.remove(force=True)
    for network in client.networks.list(filters={"name": prefix}):
        if network.name.startswith(prefix):  # the sandbox, secure and project networks
            network.remove()
    if os.geteuid() == 0 and shutil.which("iptables"):
        SecureFirewall(f"{prefix}-net-secure", "0.0.0.0", 0).remove()  # its host firewall


def running_hub(engine, workdir: Path, prefix: str, synthetic_root: Path, extra=None, **attrs):
    """A started ``Hub`` (with ``attrs`` set on it) for a fixture to yield from.

    While it runs it is in ``LIVE_HUBS``, so a failed test shows its log and its
    containers' logs. Afterwards the hub is stopped and every Docker object under
    ``prefix`` removed.
    """
    hub = Hub(workdir, prefix, synthetic_root, extra=extra)
    for name, value in attrs.items():
        setattr(hub, name, value)
    LIVE_HUBS[prefix] = (hub, engine)
    try:
        hub.start()
        yield hub
    finally:
        del LIVE_HUBS[prefix]
        hub.stop()
        cleanup_docker(engine, prefix)
