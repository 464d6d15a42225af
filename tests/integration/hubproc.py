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
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
import yaml

from tests.conftest import PROJECT_DIR, VENV_BIN

READY_DEADLINE = 240  # seconds; 2 cores under load are slow, never assert on timing


def free_port_pair() -> int:
    """A port p such that p and p+1 are free on 127.0.0.1 (proxy and its API)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports on 127.0.0.1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            settings.setdefault(section, {}).update(values)
        self.settings_path = workdir / "settings.yaml"
        self.settings_path.write_text(yaml.safe_dump(settings))
        config_d = workdir / "config.d"
        config_d.mkdir(parents=True, exist_ok=True)
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
        env = {**os.environ, "HDSS_SETTINGS": str(self.settings_path)}
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(PROJECT_DIR / "jupyterhub_config.py")],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the hub exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the hub did not answer within 90 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(re.sub(r"(token|password)=\S+", r"\1=<hidden>", t) for t in text)

    # -- REST API --------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )

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
        while time.monotonic() - start < deadline:
            state = self.server_state(username, server)
            if state and state.get("ready"):
                return state
            if state is None and time.monotonic() - start > 10:
                raise AssertionError(
                    f"server of {username} stopped while starting:\n{self.log_tail()}"
                )
            time.sleep(1)
        raise AssertionError(f"server of {username} not ready in {deadline} s:\n{self.log_tail()}")

    def wait_stopped(self, username: str, server: str = "", deadline: float = 120) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.server_state(username, server) is None:
                return
            time.sleep(1)
        raise AssertionError(f"server of {username} did not stop in {deadline} s")

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


def cleanup_docker(client, prefix: str) -> None:
    """Remove every container, volume and network whose name starts with ``prefix``."""
    for container in client.containers.list(all=True, filters={"name": prefix}):
        if container.name.startswith(prefix):
            container.remove(force=True)
    for volume in client.volumes.list(filters={"name": prefix}):
        if volume.name.startswith(prefix):
            volume.remove(force=True)
    for network in client.networks.list(names=[f"{prefix}-net"]):
        network.remove()
