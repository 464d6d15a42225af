"""`make down` with a server running: the hub, its proxy and its services all stop, the
user's server too, and the home volume stays (issue 15, item 6).

The hub is started as `make up` starts it (scripts/hub.sh, in the background, from a
non-interactive shell: its services inherit SIGINT ignored) with its own settings file,
state folder, ports and Docker prefix, and stopped with the real `make down` (STATE points
the engine step at this test's folder, so the shared Docker engine is left alone).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_DIR, unique_prefix
from tests.integration.hubproc import LIVE_HUBS, Hub, cleanup_docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``: their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.fixture(scope="module")
def hub_sh(engine, synthetic_root, tmp_path_factory):
    """A hub started by scripts/hub.sh; every Docker object and process is gone afterwards."""
    workdir = tmp_path_factory.mktemp("makedown")
    prefix = unique_prefix("down")
    hub = Hub(workdir, prefix, synthetic_root)
    hub.log_path = hub.state / "log" / "jupyterhub.log"  # where scripts/hub.sh writes it
    hub.env = {**os.environ, "HDSS_SETTINGS": str(hub.settings_path)}
    LIVE_HUBS[prefix] = (hub, engine)
    pids: list[int] = []
    hub.pids = pids
    try:
        out = subprocess.run(
            ["scripts/hub.sh", "start"],
            cwd=PROJECT_DIR,
            env=hub.env,
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}\n{hub.log_tail()}"
        yield hub
    finally:
        del LIVE_HUBS[prefix]
        for pid in pids:  # whatever a failed test left running
            if running(pid):
                os.kill(pid, 9)
        cleanup_docker(engine, prefix)


def test_make_down_stops_everything_and_keeps_the_home(hub_sh, engine, record_property):
    hub = hub_sh
    hub.ensure_user("stu1")
    r = hub.spawn("stu1")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("stu1")
    container = hub.container_name("stu1")
    volume = f"{hub.prefix}-home-stu1"

    hub_pid = int((hub.state / "jupyterhub.pid").read_text())
    procs = children(hub_pid)
    hub.pids.extend([hub_pid, *procs])
    # Positive control: what must stop is there and running.
    commands = " ".join(procs.values())
    for part in (
        "configurable-http-proxy",
        "hdss_hub.culler",
        "ledger.service",
        "promotion.service",
    ):
        assert part in commands, f"{part} is not running under the hub: {procs}"
    assert engine.containers.get(container).status == "running"

    start = time.monotonic()
    out = subprocess.run(
        ["make", "--no-print-directory", "down", f"STATE={hub.workdir / 'engine-state'}"],
        cwd=PROJECT_DIR,
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - start
    record_property("make_down_seconds", round(seconds, 1))  # a figure, never asserted
    print(f"make down with one server running: {seconds:.1f} s")
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert "did not stop" not in out.stderr, out.stderr  # no kill needed: the hub stopped itself

    left = [f"{pid}: {procs.get(pid, 'the hub')}" for pid in [hub_pid, *procs] if running(pid)]
    assert not left, f"still running after make down: {left}"
    log = hub.log_tail(40)
    assert "Cleaning up proxy" in log and "...done" in log, log  # the hub's own cleanup ran
    assert "Starting proxy" not in log.split("Received signal SIGTERM")[-1], log
    names = [c.name for c in engine.containers.list(all=True, filters={"name": hub.prefix})]
    assert not [n for n in names if n.startswith(hub.prefix)], names
    assert engine.volumes.get(volume).name == volume  # the home stays
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{hub.url}/hub/api/", timeout=5)
    assert engine.ping()  # the engine itself is untouched
