"""The hub with ``backend: slurm`` against the real cluster of tests/slurm: a student's
server is a Slurm job on a compute node, reached through the hub's proxy; it waits in the
queue with its place shown; it survives a hub restart; stop leaves nothing on the node; a
profile naming a partition the cluster lacks fails with a message, and the hub serves on.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import requests
from hdss_common import naming
from hdss_harness.wait import wait_until
from hdss_slurm.cluster import JOB_GID, JOB_UID

from tests.conftest import DOCKER, unique_prefix
from tests.integration.hubproc import running_hub
from tests.integration.ledger_helpers import SECURE_PROFILES, permission_body, service_api
from tests.slurm.test_cluster import DEADLINE, assert_clean, node_leftovers, slurm, spec, submit

pytestmark = [pytest.mark.docker, pytest.mark.slurm, pytest.mark.slow]

STUDENTS = ["ada", "bo", "cy"]


@pytest.fixture(scope="module")
def slurm_hub(engine, slurm_cluster, tmp_path_factory):
    """One hub for this module, submitting to the package's cluster as its job account."""
    prefix = unique_prefix("slurmhub")
    settings = {
        "backend": "slurm",
        "slurm": {
            "image": slurm_cluster.load_image(),
            "home_root": "/cluster/home",
            "hub_home_root": str(slurm_cluster.shared / "home"),
            "slurm_conf": str(slurm_cluster.submit_conf),
            "job_uid": JOB_UID,
            "job_gid": JOB_GID,
            "node_addresses": slurm_cluster.node_addresses(),
            "start_timeout": 300,
        },
        "data": {"restricted_root": str(slurm_cluster.restricted)},
        "ledger": {"reconcile_seconds": 5},
        "profiles": {
            "secure": {**SECURE_PROFILES["secure"], "mem_limit": "512M"},  # nodes: 2000 MB
            "course": {"cpu_limit": 1, "mem_limit": "512M", "groups": ["students"]},
            "ghost": {
                "cpu_limit": 1,
                "mem_limit": "512M",
                "groups": ["students"],
                "partition": "nosuch",
            },
        },
        "groups": {"students": STUDENTS, "researchers": ["rita"], "stewards": ["stew"]},
    }
    yield from running_hub(
        engine,
        tmp_path_factory.mktemp("slurmhub"),
        prefix,
        slurm_cluster.synthetic,
        settings,
    )


def job_of(cluster, name: str) -> tuple[str, str] | None:
    """(job id, state) of the job named ``name``, if Slurm lists one."""
    out = slurm(cluster, "squeue", "-h", "-n", name, "-o", "%i %T").stdout.split()
    return (out[0], out[1]) if out else None


def failure_of(hub, username: str, **options) -> str:
    """Why a spawn failed: at once in the API's answer, or on the progress page."""
    r = hub.spawn(username, **options)
    if r.status_code >= 400:
        return r.json()["message"]
    assert r.status_code == 202, r.text
    events = hub.progress_events(username)
    assert events and events[-1].get("failed"), events
    return events[-1]["message"]


def test_a_partition_the_cluster_lacks_fails_the_spawn_with_a_message(slurm_hub):
    slurm_hub.ensure_user("cy")
    said = failure_of(slurm_hub, "cy", profile="ghost")
    assert "no partition 'nosuch'" in said and "operators" in said, said
    assert slurm_hub.api("GET", "/users/cy").status_code == 200  # the hub serves on


def test_a_students_server_is_a_job_on_a_node_served_through_the_hub(slurm_hub, slurm_cluster):
    slurm_hub.ensure_user("ada")
    r = slurm_hub.spawn("ada", profile="course")
    assert r.status_code in (201, 202), r.text
    if r.status_code == 202:  # slower than the hub's slow_spawn_timeout: follow the page
        events = slurm_hub.progress_events("ada")
        assert events[-1].get("ready"), events
    slurm_hub.wait_ready("ada")
    said = slurm_hub.log_tail(400)  # each progress event is logged too
    assert "spawn ada: Job " in said and "submitted to sandbox" in said, said
    assert "runs on node" in said, said
    job = job_of(slurm_cluster, "hdss-ada")
    assert job and job[1] == "RUNNING"
    token = slurm_hub.user_token("ada")
    url = f"{slurm_hub.url}/user/ada/api/contents/from-the-hub.txt"
    put = requests.put(
        url,
        headers={"Authorization": f"token {token}"},
        json={"type": "file", "format": "text", "content": "written on a node"},
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    home = slurm_cluster.shared / "home" / "ada"
    assert (home / "from-the-hub.txt").read_text() == "written on a node"
    assert (home / "from-the-hub.txt").stat().st_uid == JOB_UID


def server_token(cluster, job_id: str, node: str) -> str:
    """The API token inside the server's container, as code running there reads it."""
    return cluster.exec(
        cluster.container(node), "env", f"XDG_RUNTIME_DIR=/run/user/{JOB_UID}", "podman",
        "exec", f"hdss-job-{job_id}", "printenv", "JUPYTERHUB_API_TOKEN", user="hdssjob",
    ).strip()  # fmt: skip


@pytest.mark.abuse
def test_a_servers_token_cannot_repoint_its_spawner(slurm_hub, slurm_cluster):
    """batchspawner's /api/batchspawner sets any spawner attribute a server's token posts
    (here: the address the proxy sends the user to); it is not served. Control: the same
    token identifies its user, and the server is still reached at its node."""
    job_id, _ = job_of(slurm_cluster, "hdss-ada")
    node = slurm(slurm_cluster, "squeue", "-h", "-j", job_id, "-o", "%N").stdout.strip()
    token = server_token(slurm_cluster, job_id, node)
    assert token
    r = slurm_hub.api("POST", "/batchspawner", token=token, json={"ip": "127.0.0.1", "port": 1})
    assert r.status_code == 404, r.text
    assert slurm_hub.api("GET", "/user", token=token).json()["name"] == "ada"
    user_token = slurm_hub.user_token("ada")
    status = requests.get(
        f"{slurm_hub.url}/user/ada/api/status",
        headers={"Authorization": f"token {user_token}"},
        timeout=30,
    )
    assert status.status_code == 200, status.text
    assert slurm_hub.server_state("ada")["url"] == "/user/ada/"


def test_the_hub_restarting_does_not_lose_the_running_job(slurm_hub, slurm_cluster):
    before = job_of(slurm_cluster, "hdss-ada")
    assert before and before[1] == "RUNNING"
    slurm_hub.restart()
    state = slurm_hub.server_state("ada")
    assert state and state["ready"], slurm_hub.log_tail()
    assert job_of(slurm_cluster, "hdss-ada") == before
    token = slurm_hub.user_token("ada")
    r = requests.get(
        f"{slurm_hub.url}/user/ada/api/contents/from-the-hub.txt",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["content"] == "written on a node"


def test_stopping_the_server_leaves_nothing_on_the_node(slurm_hub, slurm_cluster):
    job = job_of(slurm_cluster, "hdss-ada")
    assert job
    node = slurm(slurm_cluster, "squeue", "-h", "-j", job[0], "-o", "%N").stdout.strip()
    assert node_leftovers(slurm_cluster, node)  # control: something to clean up
    slurm_hub.stop_server("ada")
    assert job_of(slurm_cluster, "hdss-ada") is None or job_of(slurm_cluster, "hdss-ada")[
        1
    ] not in ("RUNNING", "PENDING")
    assert_clean(slurm_cluster, node)


def test_a_full_partition_shows_the_place_in_the_queue(slurm_hub, slurm_cluster, tmp_path):
    """Both sandbox nodes taken by other jobs: the student's job waits and the progress
    page says where it stands; once a node frees up, the server starts."""
    blockers = []
    try:
        for i in (1, 2):
            job = spec(slurm_cluster, f"blocker{i}", ["sleep", "600"], cpus=2, mem_mb=256)
            r = submit(slurm_cluster, tmp_path, job)
            assert r.returncode == 0, r.stderr
            blockers.append(r.stdout.strip())
        wait_until(
            lambda: all(
                slurm(slurm_cluster, "squeue", "-h", "-j", b, "-o", "%T").stdout.strip()
                == "RUNNING"
                for b in blockers
            ),
            DEADLINE,
            0.5,
            "the blocking jobs did not run",
        )
        slurm_hub.ensure_user("bo")
        r = slurm_hub.spawn("bo", profile="course")
        assert r.status_code in (201, 202), r.text
        seen: list[str] = []

        def told_place() -> bool:
            for e in slurm_hub.progress_events("bo", limit=3):
                seen.append(e.get("message", ""))
            return any("you are 1st of 1 waiting" in m for m in seen)

        wait_until(told_place, 60, 0.5, lambda: f"no queue place shown: {seen}")
        slurm(slurm_cluster, "scancel", blockers[0])
        slurm_hub.wait_ready("bo", deadline=DEADLINE)
    finally:
        for b in blockers:
            slurm(slurm_cluster, "scancel", b, check=False)
    slurm_hub.stop_server("bo")
    home = os.path.join(slurm_cluster.shared, "home", "bo")
    assert os.path.isdir(home)  # the job made the home on the cluster file system


def in_job(cluster, node: str, job_id: str, *cmd: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the job's container on ``node``, as the code in it would."""
    return subprocess.run(
        [DOCKER, "exec", "--user", "hdssjob", cluster.container(node), "env",
         f"XDG_RUNTIME_DIR=/run/user/{JOB_UID}", "podman", "exec", f"hdss-job-{job_id}", *cmd],
        capture_output=True, text=True,
    )  # fmt: skip


@pytest.mark.abuse
def test_a_secure_server_runs_only_on_the_secure_node_and_a_revocation_cancels_it(
    slurm_hub, slurm_cluster
):
    """The secure profile submits to the secure partition: the job lands on secure1 with the
    permitted restricted data read-only and no synthetic data; the steward's revocation
    makes the reconciler stop it, which cancels the job and leaves nothing on the node."""
    (dataset,) = [p.name for p in slurm_cluster.restricted.iterdir() if p.is_dir()]
    job_name = f"hdss-rita-{naming.escape('secure-p7')}"
    slurm_hub.ensure_user("rita")
    refused = slurm_hub.spawn("rita", "secure-p7")
    assert refused.status_code == 403, refused.text  # control: no permission, no job
    assert job_of(slurm_cluster, job_name) is None
    steward = slurm_hub.user_token("stew")
    body = permission_body("p7", ["rita"], [dataset], "SDS-2026-0707", "Research approval")
    logged = service_api(slurm_hub, "ledger", "POST", "/permissions", steward, json=body)
    assert logged.status_code == 201, logged.text
    r = slurm_hub.spawn("rita", "secure-p7")
    assert r.status_code in (201, 202), r.text
    slurm_hub.wait_ready("rita", "secure-p7")
    job_id, state = job_of(slurm_cluster, job_name)
    assert state == "RUNNING"
    node = slurm(slurm_cluster, "squeue", "-h", "-j", job_id, "-o", "%N %P").stdout.split()
    assert node == ["secure1", "secure"]
    listing = in_job(slurm_cluster, "secure1", job_id, "ls", "/data/restricted", "/data")
    assert dataset in listing.stdout and "synthetic" not in listing.stdout, listing
    write = in_job(slurm_cluster, "secure1", job_id, "touch", f"/data/restricted/{dataset}/x")
    assert write.returncode != 0 and "Read-only" in write.stderr, write
    revoked = service_api(
        slurm_hub, "ledger", "POST", f"/permissions/{logged.json()['id']}/revoke", steward,
        json={"reason": "Project closed by the authority"},
    )  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    slurm_hub.wait_stopped("rita", "secure-p7", deadline=120)
    gone = job_of(slurm_cluster, job_name)
    assert gone is None or gone[1] not in ("RUNNING", "PENDING"), gone
    assert_clean(slurm_cluster, "secure1")
