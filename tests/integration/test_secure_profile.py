"""The secure profile against a real hub, ledger service, Docker engine and audit log.

A steward logs a permission through the ledger's REST API; only then may the project's
members start its secure server, which sees exactly the permitted restricted data,
cannot reach anything outside its internal network but the hub, serves no downloads,
and is stopped when the permission is revoked or expires. Every step is audited.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml
from hdss_common import naming
from hdss_harness.procs import free_port
from hdss_harness.wait import wait_until

from tests.conftest import VENV_BIN
from tests.integration.ledger_helpers import (
    SECURE_PROFILES,
    ledger_hub_fixture,
    permission_body,
    service_api,
)
from tests.integration.secure_helpers import hub_login, open_server

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROJECT = "diab-2026"
SERVER = f"secure-{PROJECT}"


shub = ledger_hub_fixture(
    "shub",
    "sec",
    {"dk-restricted": 101, "dk-other": 102},
    {"researchers": ["res", "res2"], "students": ["stu"], "stewards": ["steward"]},
    reconcile_seconds=5,
    profiles=SECURE_PROFILES,
)


def ledger_api(hub, method, path, username, **kwargs):
    return service_api(hub, "ledger", method, path, hub.user_token(username), **kwargs)


def log_permission(hub, project, members, datasets, reference, valid_for=timedelta(days=30)):
    body = permission_body(
        project,
        members,
        datasets,
        reference,
        "Research approval under the Danish Data Protection Act section 10",
        valid_for,
    )
    r = ledger_api(hub, "POST", "/permissions", hub.users["steward"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def exec_in(container, code: str):
    result = container.exec_run(["/opt/venv/bin/python", "-c", code], user="1000")
    return result.exit_code, result.output.decode(errors="replace")


@pytest.fixture(scope="module")
def permitted(shub):
    """The project's permission, logged by the steward after a first refusal."""
    res = shub.users["res"]
    refused = shub.spawn(res, SERVER)
    assert refused.status_code == 403, refused.text
    assert "no permission in the ledger" in refused.json()["message"]
    assert "stewards" in refused.json()["message"]
    return log_permission(shub, PROJECT, [res], ["dk-restricted"], "SDS-2026-0042")


@pytest.fixture(scope="module")
def secure_container(shub, engine, permitted):
    res = shub.users["res"]
    r = shub.spawn(res, SERVER)
    assert r.status_code in (201, 202), r.text
    shub.wait_ready(res, SERVER)
    return engine.containers.get(shub.container_name(res, SERVER))


def test_secure_server_mounts_exactly_the_permitted_data_read_only(secure_container, shub):
    binds = [m for m in secure_container.attrs["Mounts"] if m["Type"] == "bind"]
    assert [(m["Destination"], m["RW"]) for m in binds] == [
        ("/data/restricted/dk-restricted", False)
    ]
    volumes = [m for m in secure_container.attrs["Mounts"] if m["Type"] == "volume"]
    assert [m["Name"] for m in volumes] == [f"{shub.prefix}-project-{PROJECT}"]
    result = secure_container.exec_run(
        ["sh", "-c", "touch /data/restricted/dk-restricted/x"], user="0"
    )
    assert result.exit_code != 0 and b"Read-only" in result.output
    assert secure_container.exec_run(["test", "-e", "/data/synthetic"]).exit_code != 0
    assert secure_container.attrs["HostConfig"]["CapDrop"] == ["ALL"]


def test_secure_server_has_no_egress_but_reaches_the_hub(secure_container, shub, engine):
    project_network = naming.secure_network(f"{shub.prefix}-net-secure", PROJECT)
    network = engine.networks.get(project_network)
    assert network.attrs["Internal"] is True
    assert network.attrs["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert list(secure_container.attrs["NetworkSettings"]["Networks"]) == [project_network]
    outside = engine.containers.run(
        "hdss/singleuser:latest",
        ["/opt/venv/bin/python", "-m", "http.server", "8000"],
        name=f"{shub.prefix}-outside",
        network=f"{shub.prefix}-net",
        detach=True,
        entrypoint=[],
    )
    try:
        outside.reload()
        ip = outside.attrs["NetworkSettings"]["Networks"][f"{shub.prefix}-net"]["IPAddress"]
        probe = f"import urllib.request; print(urllib.request.urlopen('http://{ip}:8000/', timeout=5).status)"
        # Positive control: the outside server answers a sandbox container on its network.
        res2 = shub.users["res2"]
        assert shub.spawn(res2, profile="course").status_code in (201, 202)
        shub.wait_ready(res2)
        sandbox = engine.containers.get(shub.container_name(res2))
        code = wait_until(
            lambda: (result := exec_in(sandbox, probe))[0] == 0 and result,
            30,
            1,
            "the sandbox container did not reach the outside server",
        )
        assert "200" in code[1], code
        # The secure server cannot reach it ...
        blocked = exec_in(secure_container, probe)
        assert blocked[0] != 0, blocked
        # ... but reaches the hub.
        hub_probe = (
            "import os, urllib.request; "
            "print(urllib.request.urlopen(os.environ['JUPYTERHUB_API_URL'] + '/', timeout=10).status)"
        )
        ok = exec_in(secure_container, hub_probe)
        assert ok[0] == 0 and "200" in ok[1], ok
        shub.stop_server(res2)
    finally:
        outside.remove(force=True)


PROBE = """
import json, socket, sys
out = {}
for host, port in json.loads(sys.argv[1]):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        out[f"{host}:{port}"] = "open"
    except OSError as e:
        out[f"{host}:{port}"] = type(e).__name__
    finally:
        s.close()
print(json.dumps(out))
"""


def connects(container, targets: list[tuple[str, int]]) -> dict[str, bool]:
    """Which of ``targets`` accept a TCP connection from inside ``container``."""
    result = container.exec_run(
        ["/opt/venv/bin/python", "-c", PROBE, json.dumps(targets)], user="1000"
    )
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return {k: v == "open" for k, v in json.loads(result.output).items()}


def host_listening_ports() -> set[int]:
    """TCP ports the host listens on for every address (IPv4 or IPv6 wildcard)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port = local.rsplit(":", 1)
            if state == "0A" and set(address) == {"0"}:
                ports.add(int(port, 16))
    return ports


def gateway_of(engine, network: str) -> str:
    return engine.networks.get(network).attrs["IPAM"]["Config"][0]["Gateway"]


def ip_on(container, network: str) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


@pytest.mark.abuse
def test_a_secure_server_reaches_nothing_but_the_hub(secure_container, shub, engine):
    """From inside a secure server: no other project, no host port, no user's sandbox.

    Each target is shown to be alive from where it may be reached (the positive
    controls), then refused from the secure server; the hub's API answers it.
    """
    res, res2 = shub.users["res"], shub.users["res2"]
    base = f"{shub.prefix}-net-secure"
    log_permission(shub, "other-2026", [res2], ["dk-other"], "SDS-2026-0099")
    assert shub.spawn(res2, "secure-other-2026").status_code in (201, 202)
    assert shub.spawn(res, profile="course").status_code in (201, 202)
    shub.wait_ready(res2, "secure-other-2026")
    shub.wait_ready(res)
    other = engine.containers.get(shub.container_name(res2, "secure-other-2026"))
    sandbox = engine.containers.get(shub.container_name(res))
    other_ip = ip_on(other, naming.secure_network(base, "other-2026"))
    sandbox_ip = ip_on(sandbox, f"{shub.prefix}-net")
    gateway = gateway_of(engine, naming.secure_network(base, PROJECT))
    listener_port = free_port()
    listener = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(listener_port), "--bind", "0.0.0.0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listener_port in host_listening_ports(), 30, 0.2, "listener down")
        sandbox_gateway = gateway_of(engine, f"{shub.prefix}-net")
        # Positive controls: each target is alive where it may be reached.
        for url in (f"http://{other_ip}:8888/", f"http://{sandbox_ip}:8888/"):
            assert requests.get(url, timeout=10, allow_redirects=False).status_code < 500, url
        assert connects(sandbox, [(sandbox_gateway, listener_port)]) == {
            f"{sandbox_gateway}:{listener_port}": True
        }
        hub_ip = gateway_of(engine, base)  # the hub listens on the secure base network
        hub_port = yaml.safe_load(shub.settings_path.read_text())["hub"]["hub_port"]
        assert connects(secure_container, [(hub_ip, hub_port)]) == {f"{hub_ip}:{hub_port}": True}
        # The attacks: another project's server, the user's own sandbox server, and every
        # port the host listens on at the secure network's gateway and at the hub's address.
        ports = host_listening_ports() - {hub_port}
        targets = [(other_ip, 8888), (sandbox_ip, 8888)]
        targets += [(gateway, p) for p in sorted(ports)] + [(hub_ip, p) for p in sorted(ports)]
        reached = [t for t, ok in connects(secure_container, targets).items() if ok]
        assert reached == [], f"a secure server reached {reached}"
        # Names of other containers do not resolve from the project's network.
        lookup = exec_in(
            secure_container, f"import socket; print(socket.gethostbyname({other.name!r}))"
        )
        assert lookup[0] != 0, lookup
    finally:
        listener.terminate()
        listener.wait(timeout=30)
        shub.stop_server(res2, "secure-other-2026")
        shub.stop_server(res)


@pytest.mark.abuse
def test_secure_server_serves_no_downloads(secure_container, shub):
    """Only the owner's browser session opens the server; /files/ is refused even to it.

    The whole guard (tokens, admins, exports, large reads, audit) is tested in
    tests/integration/test_secure_guard.py.
    """
    res = shub.users["res"]
    secure_container.exec_run(["sh", "-c", "echo result > ~/out.txt"], user="1000")
    base = f"{shub.url}/user/{res}/{SERVER}"
    session = hub_login(shub, res)
    assert open_server(session, shub, res, SERVER).status_code == 200
    assert session.get(f"{base}/api/contents", timeout=30).status_code == 200
    assert session.get(f"{base}/api/contents/out.txt", timeout=30).json()["content"] == "result\n"
    assert session.get(f"{base}/files/out.txt", timeout=30).status_code == 403
    headers = {"Authorization": f"token {shub.user_token(res)}"}
    assert requests.get(f"{base}/api/contents", headers=headers, timeout=30).status_code == 403


def test_students_and_non_members_are_refused(shub, permitted):
    stu = shub.spawn(shub.users["stu"], SERVER)
    assert stu.status_code == 403 and "not offered to your groups" in stu.json()["message"]
    other = shub.spawn(shub.users["res2"], SERVER)
    assert other.status_code == 403 and "not a member" in other.json()["message"]


def test_a_locked_audit_database_does_not_stall_other_users(shub, permitted):
    """The spawner's ledger and audit calls wait off the hub's event loop.

    The test takes the ledger database's exclusive lock, so a secure spawn's permission
    check and audit entry must wait for it; meanwhile another user's request is answered,
    and once the lock is released the spawn's refusal is audited, nothing dropped.
    """
    res2, stu = shub.users["res2"], shub.users["stu"]
    stu_token = shub.user_token(stu)
    marker = f"spawn {res2}:{SERVER}: Checking which profiles"
    outcome: dict[str, requests.Response] = {}
    db = sqlite3.connect(shub.state / "ledger.sqlite", isolation_level=None, timeout=60)
    try:
        db.execute("BEGIN EXCLUSIVE")
        spawn = threading.Thread(target=lambda: outcome.update(r=shub.spawn(res2, SERVER)))
        spawn.start()
        wait_until(
            lambda: marker in shub.log_path.read_text(),
            60,
            0.2,
            lambda: f"the spawn did not start:\n{shub.log_tail()}",
        )
        # The spawn now waits for the lock; the hub still answers another user.
        other = requests.get(
            f"{shub.url}/hub/api/user",
            headers={"Authorization": f"token {stu_token}"},
            timeout=20,  # well under SQLite's 30 s busy timeout that would block the loop
        )
        assert other.status_code == 200 and other.json()["name"] == stu
        assert spawn.is_alive(), "the spawn did not wait for the lock: nothing was tested"
    finally:
        db.execute("ROLLBACK")
        db.close()
    spawn.join(timeout=120)
    assert outcome["r"].status_code == 403, outcome["r"].text
    entries = ledger_api(shub, "GET", "/audit", shub.users["steward"]).json()
    assert any(
        e["action"] == "secure.start" and e["outcome"] == "denied" and e["actor"] == res2
        for e in entries
    ), entries[-5:]


def test_revoking_stops_the_server_and_refuses_the_next_spawn(shub, secure_container, permitted):
    res = shub.users["res"]
    r = ledger_api(
        shub,
        "POST",
        f"/permissions/{permitted['id']}/revoke",
        shub.users["steward"],
        json={"reason": "Project closed by the authority"},
    )
    assert r.status_code == 200, r.text
    shub.wait_stopped(res, SERVER, deadline=90)
    again = shub.spawn(res, SERVER)
    assert again.status_code == 403 and "revoked" in again.json()["message"]


def test_expiry_stops_the_server(shub):
    res = shub.users["res"]
    log_permission(
        shub, "short-2026", [res], ["dk-other"], "DST-2026-7", valid_for=timedelta(seconds=40)
    )
    assert shub.spawn(res, "secure-short-2026").status_code in (201, 202)
    shub.wait_ready(res, "secure-short-2026")
    shub.wait_stopped(res, "secure-short-2026", deadline=120)
    again = shub.spawn(res, "secure-short-2026")
    assert again.status_code == 403 and "expired" in again.json()["message"]


def test_every_step_is_audited_and_the_chain_verifies(shub):
    steward = shub.users["steward"]
    entries = ledger_api(shub, "GET", "/audit", steward).json()
    seen = {(e["action"], e["outcome"]) for e in entries}
    for expected in [
        ("secure.start", "denied"),
        ("permission.log", "ok"),
        ("secure.start", "started"),
        ("permission.revoke", "ok"),
        ("secure.stop", "stopped"),
        ("server.stop", "stopped"),
    ]:
        assert expected in seen, (expected, sorted(seen))
    verify = ledger_api(shub, "GET", "/audit/verify", steward)
    assert verify.status_code == 200 and verify.json()["ok"] is True, verify.text
    # Students see nothing of the ledger's audit.
    assert ledger_api(shub, "GET", "/audit", shub.users["stu"]).status_code == 403


def test_altering_one_stored_entry_is_caught_by_verify(shub, tmp_path):
    # The hub's own `hdss-audit verify`, given nothing but its settings file, finds the
    # database and the anchor (checkpoints the hub and its services wrote) and agrees.
    plain = subprocess.run(
        [str(VENV_BIN / "hdss-audit"), "verify"],
        capture_output=True,
        text=True,
        env={**os.environ, "HDSS_SETTINGS": str(shub.settings_path)},
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "checkpoints in" in plain.stdout and str(shub.state) in plain.stdout
    # A copy: the anchor log first, so each checkpoint names an entry the copy holds.
    log, copy = tmp_path / "audit-anchors.log", tmp_path / "ledger.sqlite"
    shutil.copy(shub.state / "audit-anchors.log", log)
    shutil.copy(shub.state / "ledger.sqlite", copy)
    key = shub.state / "secrets" / "audit-anchor-key"
    anchors = ["--anchor-log", str(log), "--anchor-key", str(key)]
    verify = [str(VENV_BIN / "hdss-audit"), "verify", "--db", f"sqlite:///{copy}", *anchors]
    ok = subprocess.run(verify, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with sqlite3.connect(copy) as db:
        table = next(
            name
            for (name,) in db.execute("select name from sqlite_master where type='table'")
            if "audit" in name and "version" not in name
        )
        db.execute(f"update {table} set outcome = outcome || '-altered' where seq = 2")
    bad = subprocess.run(verify, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "broken at entry 2" in (bad.stdout + bad.stderr)
    # Cutting off the newest entries leaves a valid chain; the checkpoints still tell.
    anchored = max(int(line.split()[1]) for line in log.read_text().splitlines())
    with sqlite3.connect(copy) as db:
        db.execute(f"update {table} set outcome = replace(outcome, '-altered', '')")
        db.execute(f"delete from {table} where seq >= {anchored}")
    cut = subprocess.run(verify, capture_output=True, text=True)
    assert cut.returncode == 1, cut.stdout + cut.stderr
    assert f"entries after seq {anchored - 1} were removed" in cut.stderr
