"""The Slurm cluster of `make slurm-up` and the job script, for real.

Jobs are submitted from this host (a submit host: Debian's sbatch with the cluster's munge
key) and run the single-user image with rootless Podman on the node containers.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import requests
from hdss_harness.wait import wait_until
from hdss_slurm.cluster import JOB_GID, JOB_UID, Cluster
from hdss_slurm.jobscript import JobSpec, render

from tests.conftest import DOCKER, unique_prefix

pytestmark = [pytest.mark.docker, pytest.mark.slurm, pytest.mark.slow]

DEADLINE = 180  # seconds; 2 shared cores, generous on purpose (never a timing assert)


def slurm(cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(
        list(args), capture_output=True, text=True, env={**os.environ, **cluster.submit_env()}
    )
    if check:
        assert r.returncode == 0, f"{args}: {r.stderr}"
    return r


def submit(cluster, tmp_path, spec: JobSpec, *sbatch: str, wait: bool = False):
    """sbatch the rendered script as the job account; the job id (and the result if wait)."""
    script = tmp_path / f"{spec.name}.sh"
    script.write_text(render(spec))
    args = ["sbatch", "--parsable", f"--uid={JOB_UID}", f"--gid={JOB_GID}", *sbatch]
    r = slurm(cluster, *args, *(["--wait"] if wait else []), str(script), check=False)
    return r


def spec(cluster, name: str, command: list[str], **kw) -> JobSpec:
    home = kw.pop("home", f"/cluster/home/{name}")
    kw.setdefault("partition", "sandbox")
    kw.setdefault("image", cluster.load_image())
    output = f"/cluster/home/{name}.log"
    return JobSpec(name=name, home=home, command=command, output=output, **kw)


def log_of(cluster, name: str) -> str:
    path = cluster.shared / "home" / f"{name}.log"
    return path.read_text() if path.exists() else ""


def job_node(cluster, job_id: str, deadline: float = DEADLINE) -> str:
    """The node a job runs on, once it runs."""

    def running() -> str | None:
        out = slurm(cluster, "squeue", "-h", "-j", job_id, "-o", "%t %N").stdout.split()
        return out[1] if out and out[0] == "R" else None

    return wait_until(running, deadline, 0.3, f"job {job_id} did not run")


def node_leftovers(cluster, node: str) -> list[str]:
    """Containers, conmon and Jupyter processes of jobs still on ``node``."""
    name = cluster.container(node)
    ps = cluster.exec(name, "ps", "-eo", "args", "--no-headers")
    procs = [p for p in ps.splitlines() if "conmon" in p or "jupyter" in p or "sleep" in p]
    containers = cluster.exec(
        name, "env", f"XDG_RUNTIME_DIR=/run/user/{JOB_UID}", "podman", "ps", "-a",
        "--format", "{{.Names}}", user="hdssjob",
    ).split()  # fmt: skip
    return procs + containers


def assert_clean(cluster, node: str) -> None:
    """Nothing of a job is left on ``node`` (within a minute: KillWait is 10 s)."""
    wait_until(
        lambda: not node_leftovers(cluster, node),
        60,
        0.5,
        lambda: f"left behind on {node}: {node_leftovers(cluster, node)}",
    )


def test_cluster_is_up_with_a_private_munge_key(slurm_cluster):
    states = slurm_cluster.sinfo()
    assert set(states) == {"node1", "node2", "secure1"}
    assert slurm_cluster.munge_key.stat().st_mode & 0o777 == 0o600
    inside = slurm_cluster.exec(
        slurm_cluster.container("node1"), "stat", "-c", "%U %a", "/etc/munge/munge.key"
    )
    assert inside.split() == ["munge", "400"]
    parts = slurm(slurm_cluster, "sinfo", "-h", "-o", "%R %N").stdout.split()
    assert parts == ["sandbox", "node[1-2]", "secure", "secure1"]


def test_server_lands_on_a_compute_node_serves_jupyterlab_and_scancel_leaves_nothing(
    slurm_cluster, tmp_path
):
    token = "t" + os.urandom(8).hex()
    job = spec(
        slurm_cluster,
        "lab-alice",
        ["jupyter", "lab", "--ip=0.0.0.0", "--port=18888", "--no-browser"],
        env_names=["JUPYTER_TOKEN"],
    )
    os.environ["JUPYTER_TOKEN"] = token  # handed to the job by Slurm, named in the script
    try:
        r = submit(slurm_cluster, tmp_path, job)
    finally:
        del os.environ["JUPYTER_TOKEN"]
    assert r.returncode == 0, r.stderr
    assert token not in render(job)
    job_id = r.stdout.strip()
    node = job_node(slurm_cluster, job_id)
    assert node in ("node1", "node2")
    url = f"http://{slurm_cluster.node_addresses()[node]}:18888/lab?token={token}"
    wait_until(
        lambda: requests.get(url, timeout=5).status_code == 200,
        DEADLINE,
        0.5,
        lambda: "JupyterLab did not answer 200; job log:\n" + log_of(slurm_cluster, "lab-alice"),
        expect=(requests.ConnectionError,),
    )
    assert node_leftovers(slurm_cluster, node)  # positive control: it is there to clean
    slurm(slurm_cluster, "scancel", job_id)
    assert_clean(slurm_cluster, node)


@pytest.mark.abuse
def test_data_is_read_only_on_the_node(slurm_cluster, tmp_path):
    probe = (
        "cat /data/synthetic/dk-registers/current/datapackage.json >/dev/null && echo READ-OK; "
        "touch /data/synthetic/dk-registers/x 2>/dev/null && echo WRITE-DATA-OK; "
        "touch /home/jovyan/mine && echo WRITE-HOME-OK; "
        "touch /usr/x 2>/dev/null && echo WRITE-ROOT-OK; "
        "grep CapEff /proc/self/status"
    )
    job = spec(slurm_cluster, "ro-bob", ["sh", "-c", probe])
    r = submit(slurm_cluster, tmp_path, job, wait=True)
    out = log_of(slurm_cluster, "ro-bob")
    assert r.returncode == 0, out
    assert "READ-OK" in out and "WRITE-HOME-OK" in out  # positive controls
    assert "WRITE-DATA-OK" not in out and "WRITE-ROOT-OK" not in out
    assert "CapEff:\t0000000000000000" in out


def test_second_user_lands_on_the_other_node_when_the_first_is_full(slurm_cluster, tmp_path):
    jobs = []
    try:
        for user in ("full-a", "full-b"):
            job = spec(slurm_cluster, user, ["sleep", "300"], cpus=slurm_cluster.cpus)
            r = submit(slurm_cluster, tmp_path, job)
            assert r.returncode == 0, r.stderr
            jobs.append(r.stdout.strip())
        nodes = {job_node(slurm_cluster, j) for j in jobs}
        assert nodes == {"node1", "node2"}
        # A third that needs a whole node waits in the queue, with its reason.
        third = spec(slurm_cluster, "full-c", ["sleep", "300"], cpus=slurm_cluster.cpus)
        r = submit(slurm_cluster, tmp_path, third)
        jobs.append(r.stdout.strip())
        state = slurm(slurm_cluster, "squeue", "-h", "-j", jobs[2], "-o", "%t %r").stdout
        assert state.split()[0] == "PD", state
    finally:
        slurm(slurm_cluster, "scancel", *jobs)
    for node in ("node1", "node2"):
        assert_clean(slurm_cluster, node)


def test_home_follows_the_user_to_the_other_node(slurm_cluster, tmp_path):
    home = "/cluster/home/carol"
    write = spec(slurm_cluster, "home-w", ["sh", "-c", "hostname > ~/written-on"], home=home)
    r = submit(slurm_cluster, tmp_path, write, "--nodelist=node1", wait=True)
    assert r.returncode == 0, log_of(slurm_cluster, "home-w")
    read = spec(slurm_cluster, "home-r", ["sh", "-c", "cat ~/written-on; hostname"], home=home)
    r = submit(slurm_cluster, tmp_path, read, "--nodelist=node2", wait=True)
    assert r.returncode == 0, log_of(slurm_cluster, "home-r")
    lines = log_of(slurm_cluster, "home-r").split()
    assert lines[-2:] == ["node1", "node2"]
    owner = (slurm_cluster.shared / "home" / "carol" / "written-on").stat()
    assert (owner.st_uid, owner.st_gid) == (JOB_UID, JOB_GID)


@pytest.fixture(scope="module")
def outside(slurm_cluster):
    """A web server standing in for the internet: on the cluster's ordinary network."""
    name = unique_prefix("slurm-outside")
    subprocess.run(
        [DOCKER, "run", "-d", "--name", name, "--network", slurm_cluster.network,
         slurm_cluster.node_image.replace("slurmnode", "base"),
         "python3", "-m", "http.server", "8000"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        ip = slurm_cluster.address(name)
        yield f"http://{ip}:8000/"
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], capture_output=True)


def reach(url: str) -> list[str]:
    code = (
        "import urllib.request,sys\n"
        "try:\n"
        f"    urllib.request.urlopen({url!r}, timeout=5); print('REACHED')\n"
        "except Exception as e:\n"
        "    print('UNREACHABLE', type(e).__name__)\n"
    )
    return ["python3", "-c", code]


@pytest.mark.abuse
def test_secure_job_lands_only_on_the_secure_node_and_cannot_reach_outside(
    slurm_cluster, outside, tmp_path
):
    control = spec(slurm_cluster, "egress-open", reach(outside))
    r = submit(slurm_cluster, tmp_path, control, wait=True)
    assert r.returncode == 0 and "REACHED" in log_of(slurm_cluster, "egress-open")

    probe = reach(outside)
    probe[-1] += "import os, socket; print(sorted(os.listdir('/data/restricted')))\n"
    probe[-1] += "print('ON', socket.gethostname())\n"
    secure = spec(
        slurm_cluster, "egress-sec", probe, partition="secure", secure=True,
        restricted=["dk-registers"],
    )  # fmt: skip
    r = submit(slurm_cluster, tmp_path, secure, wait=True)
    out = log_of(slurm_cluster, "egress-sec")
    assert r.returncode == 0, out
    assert "UNREACHABLE" in out and "REACHED" not in out.replace("UNREACHABLE", "")
    assert "['dk-registers']" in out
    assert "ON secure1" in out
    # The restricted data is on the secure node only: the others have not even the folder.
    for node in ("node1", "node2"):
        ls = slurm_cluster.exec(slurm_cluster.container(node), "ls", "/hdss-data").split()
        assert ls == ["synthetic"], ls
    # A secure job cannot be steered onto a compute node.
    r = submit(slurm_cluster, tmp_path, secure, "--nodelist=node1")
    assert r.returncode != 0
    assert "node" in r.stderr.lower()


def test_a_missing_image_on_the_node_says_what_to_do(slurm_cluster, tmp_path):
    job = spec(slurm_cluster, "noimage", ["true"], image="0123456789ab")
    r = submit(slurm_cluster, tmp_path, job, wait=True)
    assert r.returncode != 0
    assert "is not loaded on node" in log_of(slurm_cluster, "noimage")
    assert "make slurm-up" in log_of(slurm_cluster, "noimage")


def test_a_partition_that_does_not_exist_is_refused(slurm_cluster, tmp_path):
    job = spec(slurm_cluster, "nopart", ["true"], partition="nosuch")
    r = submit(slurm_cluster, tmp_path, job)
    assert r.returncode != 0
    assert "invalid partition" in r.stderr.lower()


@pytest.mark.abuse
def test_a_submit_host_with_another_munge_key_is_refused(slurm_cluster, tmp_path):
    forged = Cluster(tmp_path / "forged", prefix=f"{slurm_cluster.prefix}-forged")
    forged.write_config()  # a key of its own, 0600, and its own host munged
    conf = tmp_path / "forged-submit.conf"
    conf.write_text(forged.slurm_conf(slurm_cluster.address(slurm_cluster.controller)))
    forged.start_munged()
    try:
        control = slurm(slurm_cluster, "sinfo", "-h", check=False)
        r = subprocess.run(
            ["sinfo", "-h"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "SLURM_CONF": str(conf)},
        )
    finally:
        forged.stop_munged()
    assert control.returncode == 0, control.stderr  # positive control: the cluster's key
    assert r.returncode != 0, r.stdout
    # sinfo only sees the connection close; the controller says why.
    log = subprocess.run(
        [DOCKER, "logs", "--tail", "50", slurm_cluster.controller], capture_output=True, text=True
    )
    assert "Protocol authentication error" in log.stdout + log.stderr


def test_a_job_beyond_every_node_is_refused_at_submission(slurm_cluster, tmp_path):
    job = spec(slurm_cluster, "toobig", ["true"], mem_mb=slurm_cluster.memory_mb * 4)
    r = submit(slurm_cluster, tmp_path, job)
    assert r.returncode != 0
    assert "requested node configuration is not available" in r.stderr.lower(), r.stderr
