"""The batch script of a sandbox server on a Slurm node: rootless Podman, same hardening.

The job runs the single-user image as the node's job account with the policy of the Docker
backend: a read-only root, every capability dropped, no-new-privileges, the user's own uid
inside (``--userns=keep-id``), the synthetic data bound read-only, the user's home from the
cluster file system. CPUs and memory are asked of Slurm (``--cpus-per-task``, ``--mem``),
which places jobs by them; rootless Podman on cgroup v1 cannot set limits itself, and
enforcing them on the node is Slurm's ``task/cgroup`` on a real cluster (the containers of
``make slurm-up`` run ``task/none``: there they are placement, not enforcement).

Cleanup: with ``proctrack/linuxproc``, ``scancel`` signals only processes descended from
the job, i.e. the ``podman run`` client, while conmon and the server live on. So the client
runs in the background (``& wait``) and a TERM/INT/EXIT trap removes the container by
name, again while the client still lives (a TERM during its start would otherwise leave
the container it is creating): stop, cull and ``scancel`` leave no container behind.

The server's port: with ``report_port`` the script picks a free port on the node, records
it in the job's comment (``scontrol update ... Comment=hdss-port=N``, which only the job's
account and Slurm's operators may do, never the code in the container: it has no munge
socket) and passes it as ``--port``; the hub reads it back with ``squeue``. JupyterHub's
batchspawner has the server post its port to a hub API instead, which lets a server's
token set any attribute of its spawner; the hub does not load that handler.

Secrets (the hub's API token) never appear in the script: Slurm hands the submitting
environment to the job and ``--env NAME`` passes each variable on by name only.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from hdss_common.errors import HdssError

CONTAINER_HOME = "/home/jovyan"
# The published datasets on a node: beside the cluster file system, not in it, so a mount on
# the secure nodes leaves no trace (not even an empty folder) on the others.
SYNTHETIC_ON_NODE = "/hdss-data/synthetic"
RESTRICTED_ON_NODE = "/hdss-data/restricted"
SYNTHETIC_IN_CONTAINER = "/data/synthetic"
RESTRICTED_IN_CONTAINER = "/data/restricted"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:@-]{0,200}$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TIME_RE = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){0,2}$")


PORT_ARG = "--port=$PORT"  # in ``command``: the port the script picked (report_port)
EXPANDED = {"$CONTAINER", PORT_ARG}  # arguments the shell expands (double-quoted)


class JobSpecError(HdssError, ValueError):
    """A job cannot be written from these values: the message names the value."""


@dataclass
class JobSpec:
    name: str  # job name and container name stem (hdss-<user>)
    partition: str
    image: str  # an image id or name loaded on the nodes
    home: str  # the user's home on the cluster file system, e.g. /cluster/home/alice
    command: list[str]
    cpus: int = 1
    mem_mb: int = 1024
    time_limit: str = "08:00:00"
    env_names: list[str] = field(default_factory=list)  # passed on by name
    env_values: dict[str, str] = field(default_factory=dict)  # non-secret values
    restricted: list[str] = field(default_factory=list)  # dataset folders (secure jobs)
    output: str = "/dev/null"
    uid: int = 1000
    gid: int = 100
    secure: bool = False
    report_port: bool = False  # pick a free port on the node, record it, pass PORT_ARG

    def check(self) -> None:
        if not NAME_RE.match(self.name):
            raise JobSpecError(f"job name {self.name!r}: letters, digits, '_', '.', '-' only")
        if not NAME_RE.match(self.partition):
            raise JobSpecError(f"partition {self.partition!r} is not a Slurm partition name")
        if not IMAGE_RE.match(self.image):
            raise JobSpecError(f"image {self.image!r} is not an image name or id")
        if not self.home.startswith("/") or ".." in self.home.split("/"):
            raise JobSpecError(f"home {self.home!r} must be an absolute path without '..'")
        if self.cpus < 1 or self.mem_mb < 64:
            raise JobSpecError(f"cpus {self.cpus} / mem_mb {self.mem_mb}: at least 1 / 64")
        if not TIME_RE.match(self.time_limit):
            raise JobSpecError(f"time limit {self.time_limit!r}: use [D-]HH:MM:SS")
        for name in [*self.env_names, *self.env_values]:
            if not ENV_RE.match(name):
                raise JobSpecError(f"environment variable name {name!r} is not valid")
        for ds in self.restricted:
            if not NAME_RE.match(ds):
                raise JobSpecError(f"restricted dataset {ds!r} is not a dataset name")
        if not self.command:
            raise JobSpecError("the job needs a command")
        if (PORT_ARG in self.command) != self.report_port:
            raise JobSpecError(f"the command has {PORT_ARG!r} exactly when report_port is set")


def podman_args(spec: JobSpec) -> list[str]:
    """``podman run`` with the sandbox's hardening, for the job's container."""
    args = [
        "podman", "run", "--rm", "--name", "$CONTAINER",
        "--read-only", "--read-only-tmpfs=false",
        "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m",
        "--cap-drop=all", "--security-opt", "no-new-privileges",
        "--userns=keep-id", f"--user={spec.uid}:{spec.gid}",
        # The node's own network: the hub reaches the server at the node's address. A secure
        # node sits on a network with no egress, so its jobs have none either.
        "--network=host",
        "--volume", f"{spec.home}:{CONTAINER_HOME}:rw",
        "--env", f"HOME={CONTAINER_HOME}",
    ]  # fmt: skip
    if not spec.secure:
        args += ["--volume", f"{SYNTHETIC_ON_NODE}:{SYNTHETIC_IN_CONTAINER}:ro"]
    for ds in spec.restricted:
        args += [
            "--volume",
            f"{RESTRICTED_ON_NODE}/{ds}:{RESTRICTED_IN_CONTAINER}/{ds}:ro",
        ]
    for name in spec.env_names:
        args += ["--env", name]
    for name, value in sorted(spec.env_values.items()):
        args += ["--env", f"{name}={value}"]
    return [*args, spec.image, *spec.command]


def render(spec: JobSpec) -> str:
    """The batch script (bash) for ``spec``; raises JobSpecError on a bad value."""
    spec.check()
    q = shlex.quote
    run = " ".join(f'"{a}"' if a in EXPANDED else q(a) for a in podman_args(spec))
    port = PICK_PORT if spec.report_port else ""
    return f"""#!/bin/bash
#SBATCH --job-name={q(spec.name)}
#SBATCH --partition={q(spec.partition)}
#SBATCH --cpus-per-task={spec.cpus}
#SBATCH --mem={spec.mem_mb}M
#SBATCH --time={spec.time_limit}
#SBATCH --output={q(spec.output)}
#SBATCH --chdir=/tmp
set -u
export PATH={PATH}
export XDG_RUNTIME_DIR=/run/user/$(id -u)
export HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
CONTAINER=hdss-job-${{SLURM_JOB_ID}}
cleanup() {{
    # The TERM may come while the client is still creating the container: remove it, and
    # again while the client lives, within Slurm's KillWait (10 s) before its SIGKILL.
    trap - TERM INT EXIT
    for _ in 1 2 3 4 5 6 7 8; do
        podman rm --force --time 0 --ignore "$CONTAINER" >/dev/null 2>&1
        if [ -n "${{CLIENT:-}}" ] && kill -0 "$CLIENT" 2>/dev/null; then sleep 1; continue; fi
        podman container exists "$CONTAINER" || break
    done
}}
trap 'cleanup; exit 143' TERM INT
trap cleanup EXIT
if [ ! -d {q(spec.home)} ]; then
    mkdir -p {q(spec.home)} || {{ echo "hdss-job: cannot create the home {spec.home}" >&2; exit 3; }}
fi
if ! podman image exists {q(spec.image)}; then
    echo "hdss-job: the image {spec.image} is not loaded on $(hostname -s): run make slurm-up" \\
         "(it loads the archive on every node)" >&2
    exit 4
fi
{port}echo "hdss-job: starting $CONTAINER on $(hostname -s)" >&2
{run} &
CLIENT=$!
wait $CLIENT
rc=$?
exit $rc
"""


PICK_PORT = """PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
if ! scontrol update JobId="$SLURM_JOB_ID" Comment="hdss-port=$PORT"; then
    echo "hdss-job: cannot record the server's port in job $SLURM_JOB_ID (scontrol)" >&2
    exit 5
fi
"""
