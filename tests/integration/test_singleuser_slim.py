"""A real server spawned by a real hub runs the lighter jupyterhub-singleuser
(images/singleuser/slim): after the hub's OAuth login, API calls and a kernel, the
server process has loaded none of the hub's database layer (SQLAlchemy's compiled
modules are absent from its memory map), and it still logs each request as upstream does.
"""

from __future__ import annotations

import pytest
import requests

from tests.integration.test_sandbox_journey import login, run

pytestmark = pytest.mark.docker


def test_a_spawned_server_never_loads_the_hubs_database_layer(hub, engine):
    name = f"{hub.prefix}-slim"
    hub.ensure_user(name)
    hub.api("POST", "/groups/students/users", json={"users": [name]}).raise_for_status()
    assert hub.spawn(name, profile="course").status_code in (201, 202)
    hub.wait_ready(name)
    try:
        # A person's browser session through the hub's OAuth, and an API token.
        session = login(hub, name)
        lab = session.get(f"{hub.url}/user/{name}/lab", timeout=60)
        assert lab.status_code == 200 and "JupyterLab" in lab.text
        headers = {"Authorization": f"token {hub.user_token(name)}"}
        base = f"{hub.url}/user/{name}/api"
        assert requests.get(f"{base}/status", headers=headers, timeout=60).status_code == 200
        kernel = requests.post(f"{base}/kernels", headers=headers, json={}, timeout=120)
        assert kernel.status_code == 201, kernel.text
        requests.delete(f"{base}/kernels/{kernel.json()['id']}", headers=headers, timeout=60)

        container = engine.containers.get(hub.container_name(name))
        code, pids = run(
            container,
            "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline | "
            "grep -q '^/opt/venv/bin/python3 /opt/venv/bin/jupyterhub-singleuser' "
            "&& basename $p; done",
        )
        assert code == 0 and pids.split(), pids
        pid = pids.split()[0]
        code, maps = run(container, f"cat /proc/{pid}/maps")
        assert code == 0 and "/opt/venv/lib/python3.11/site-packages/" in maps
        assert "sqlalchemy" not in maps, "the server loaded SQLAlchemy"
        # Positive control: a module with compiled parts that it does load is in the map.
        assert "/site-packages/zmq/" in maps or "/site-packages/pyzmq" in maps
        # log_request still logs every request, as upstream's does.
        logs = container.logs().decode(errors="replace")
        assert f"GET /user/{name}/api/status" in logs
    finally:
        hub.stop_server(name)
