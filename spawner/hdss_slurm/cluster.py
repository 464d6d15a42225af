"""A real Slurm cluster as containers on this machine: ``make slurm-up`` / ``make slurm-down``.

    .venv/bin/python -m hdss_slurm.cluster up|down|status [--state DIR] [--prefix NAME]

One controller (``slurmctld``), two compute nodes (``node1``, ``node2``, partition
``sandbox``) and a secure node (``secure1``, partition ``secure``) on an ``--internal``
network with no egress and the restricted data bound read-only. Every node runs the image
``hdss/slurmnode`` (images/slurmnode, FROM our debootstrap base) with Debian's Slurm and
munge and rootless Podman, which runs the single-user image for each job.

The state folder (default ``var/slurm``) holds:

- ``etc/munge.key``: the cluster's shared munge key, generated here once, mode 0600, never
  committed; each node copies it to its own ``/etc/munge/munge.key`` (owner munge, 0400);
- ``etc/slurm.conf``: the nodes' configuration; ``etc/submit/slurm.conf`` is the host's
  copy (the controller's address, the host munged's socket): the host is a submit host;
- ``shared/``: the cluster file system, bound into every node at ``/cluster``: homes
  (``/cluster/home/<user>``), secure projects' workspaces (``/cluster/projects``), the
  jobs' logs (``/cluster/logs``) and the image archives (``/cluster/images``); the published
  datasets are bound read-only beside it, at ``/hdss-data/synthetic`` (every node) and
  ``/hdss-data/restricted`` (the secure nodes only: the other nodes have no such folder).

The single-user image reaches the nodes with no registry: ``docker save`` once into
``shared/images/<image id>.tar``, then ``podman load`` once per node and image id.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hdss_common.errors import HdssError

from .jobscript import RESTRICTED_ON_NODE, SYNTHETIC_ON_NODE

NODE_IMAGE = "hdss/slurmnode:latest"
USER_IMAGE = "hdss/singleuser:latest"
JOB_UID = 1000  # hdssjob on the nodes, jovyan in the single-user image
JOB_GID = 100
CLUSTER_ROOT = "/cluster"
PODMAN_STORE = "/var/lib/hdssjob/.local/share/containers"
SLURMCTLD_PORT = 6817
SLURMD_PORT = 6818
RUN_DIR = Path("/run/hdss-slurm")


class ClusterError(HdssError):
    """The cluster cannot be brought up or down: the message says what to do."""


def docker_binary() -> str:
    found = os.environ.get("DOCKER") or (
        "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    )
    if not found:
        raise ClusterError("no docker client found: install Debian's docker.io (make host-deps)")
    return found


def docker(*args: str, check: bool = True, timeout: float = 600) -> str:
    """Run the Docker client; its stdout, or a ClusterError with its last error line."""
    r = subprocess.run([docker_binary(), *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        said = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise ClusterError(f"docker {args[0]} {args[1] if len(args) > 1 else ''}: {said}")
    return r.stdout


@dataclass
class Node:
    name: str  # Slurm's NodeName and the container's hostname
    partition: str
    secure: bool = False


@dataclass
class Cluster:
    """The names, folders and configuration of one cluster; ``up()`` and ``down()``."""

    state: Path
    prefix: str = "hdss-slurm"
    synthetic: Path | None = None
    restricted: Path | None = None
    cpus: int = 2
    memory_mb: int = 2000
    # Nodes may declare more CPUs than the machine has (SlurmdParameters=config_overrides):
    # for a benchmark of many small servers on a 2-core machine (bench/bench_slurm.py).
    overcommit: bool = False
    node_image: str = NODE_IMAGE
    user_image: str = USER_IMAGE
    nodes: list[Node] = field(
        default_factory=lambda: [
            Node("node1", "sandbox"),
            Node("node2", "sandbox"),
            Node("secure1", "secure", secure=True),
        ]
    )

    _loaded: str | None = field(default=None, init=False, repr=False)  # image id, this process
    _t0: float = field(default_factory=time.monotonic, init=False, repr=False)

    def say(self, what: str) -> None:
        """A progress line on stderr, with the seconds since this object was made."""
        print(f"slurm: {what} ({time.monotonic() - self._t0:.0f} s)", file=sys.stderr, flush=True)

    def __post_init__(self) -> None:
        self.state = Path(self.state).resolve()
        if self.synthetic is not None:
            self.synthetic = Path(self.synthetic).resolve()
        if self.restricted is not None:
            self.restricted = Path(self.restricted).resolve()

    # --- names and paths ------------------------------------------------------------------

    @property
    def etc(self) -> Path:
        return self.state / "etc"

    @property
    def shared(self) -> Path:
        return self.state / "shared"

    @property
    def munge_key(self) -> Path:
        return self.etc / "munge.key"

    @property
    def submit_conf(self) -> Path:
        """The host's slurm.conf: point SLURM_CONF here to submit from the host."""
        return self.etc / "submit" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        """The host munged's socket: in /run, since munged wants every folder above it
        searchable by all (the state folder is private)."""
        return RUN_DIR / self.prefix / "munge.socket"

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def secure_network(self) -> str:
        return f"{self.prefix}-secure"

    @property
    def controller(self) -> str:
        return f"{self.prefix}-slurmctld"

    def container(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def volume(self, node: str) -> str:
        return f"{self.prefix}-{node}-podman"

    def partitions(self) -> dict[str, list[str]]:
        parts: dict[str, list[str]] = {}
        for node in self.nodes:
            parts.setdefault(node.partition, []).append(node.name)
        return parts

    # --- configuration --------------------------------------------------------------------

    def slurm_conf(self, controller_addr: str | None = None) -> str:
        """slurm.conf of the nodes, or of the submit host (the controller's address)."""
        host = f"slurmctld({controller_addr})" if controller_addr else "slurmctld"
        lines = [
            "# Generated by hdss_slurm.cluster; do not edit (make slurm-down && make slurm-up).",
            f"ClusterName={self.prefix.replace('-', '_')}",
            f"SlurmctldHost={host}",
            "SlurmUser=slurm",
            f"SlurmctldPort={SLURMCTLD_PORT}",
            f"SlurmdPort={SLURMD_PORT}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "StateSaveLocation=/var/spool/slurmctld",
            "SlurmdSpoolDir=/var/spool/slurmd",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "ReturnToService=2",
            "MpiDefault=none",
            "KillWait=10",
            "SlurmdTimeout=60",
            "InactiveLimit=0",
            "MinJobAge=60",
        ]
        if self.overcommit:
            lines.append("SlurmdParameters=config_overrides")
        if controller_addr:
            lines.append(f"AuthInfo=socket={self.munge_socket}")
        for node in self.nodes:
            lines.append(
                f"NodeName={node.name} CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN"
            )
        for i, (part, names) in enumerate(self.partitions().items()):
            default = "YES" if i == 0 else "NO"
            lines.append(
                f"PartitionName={part} Nodes={','.join(names)} Default={default} "
                "MaxTime=INFINITE State=UP"
            )
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        """The munge key (once, 0600) and the nodes' slurm.conf; the shared folders."""
        self.etc.mkdir(parents=True, exist_ok=True)
        os.chmod(self.etc, 0o700)
        if not self.munge_key.exists():
            fd = os.open(self.munge_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(1024))
        mode = self.munge_key.stat().st_mode & 0o777
        if mode & 0o077:
            raise ClusterError(
                f"{self.munge_key} has mode {mode:o}: the munge key must be 0600 "
                f"(chmod 600 {self.munge_key})"
            )
        (self.etc / "slurm.conf").write_text(self.slurm_conf())
        for sub in ("home", "images", "logs", "projects"):
            (self.shared / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("home", "logs", "projects"):  # written by the jobs' account
            os.chown(self.shared / sub, JOB_UID, JOB_GID)

    # --- containers -----------------------------------------------------------------------

    def _run_node(self, name: str, hostname: str, network: str, role: str, extra: list[str]):
        docker(
            "run", "-d", "--name", name, "--hostname", hostname,
            "--network", network, "--network-alias", hostname,
            "--label", f"org.hdss.slurm={self.prefix}",
            # Rootless Podman inside the node: these, never --privileged (it fails here).
            "--security-opt", "seccomp=unconfined",
            "--security-opt", "systempaths=unconfined",
            "--device", "/dev/net/tun",
            "--volume", f"{self.etc}:/etc/hdss-slurm:ro",
            *extra,
            self.node_image, role,
        )  # fmt: skip

    def _data_binds(self, node: Node) -> list[str]:
        binds = ["--volume", f"{self.shared}:{CLUSTER_ROOT}"]
        if self.synthetic is not None:
            binds += ["--volume", f"{self.synthetic}:{SYNTHETIC_ON_NODE}:ro"]
        if node.secure and self.restricted is not None:
            binds += ["--volume", f"{self.restricted}:{RESTRICTED_ON_NODE}:ro"]
        return binds

    def up(self, load_image: bool = True, timeout: float = 120) -> None:
        """Start (or finish starting) the cluster; wait until every node is idle."""
        if not docker("image", "ls", "-q", self.node_image).strip():
            raise ClusterError(
                f"the node image {self.node_image} is not built: run "
                ".venv/bin/python images/build.py --only slurmnode (or make images)"
            )
        self.write_config()
        self._network(self.network, internal=False)
        self._network(self.secure_network, internal=True)
        if not self._exists(self.controller):
            self._run_node(self.controller, "slurmctld", self.network, "slurmctld", [])
            docker("network", "connect", "--alias", "slurmctld", self.secure_network,
                   self.controller)  # fmt: skip
        for node in self.nodes:
            name = self.container(node.name)
            if self._exists(name):
                continue
            docker("volume", "create", "--label", f"org.hdss.slurm={self.prefix}",
                   self.volume(node.name))  # fmt: skip
            net = self.secure_network if node.secure else self.network
            extra = [
                *self._data_binds(node),
                "--volume",
                f"{self.volume(node.name)}:{PODMAN_STORE}",
            ]
            self._run_node(name, node.name, net, "slurmd", extra)
        self.say("containers started")
        self.write_submit_conf()
        self.start_munged()
        self.wait_idle(timeout)
        self.say("every node idle")
        if load_image:
            self.load_image()

    def _exists(self, name: str) -> bool:
        out = docker("ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.State}}")
        state = out.strip()
        if state and state != "running":
            docker("rm", "-f", name)
            return False
        return bool(state)

    def _network(self, name: str, internal: bool) -> None:
        if docker("network", "ls", "-q", "--filter", f"name=^{name}$").strip():
            return
        args = ["network", "create", "--label", f"org.hdss.slurm={self.prefix}"]
        docker(*args, *(["--internal"] if internal else []), name)

    def address(self, container: str, network: str | None = None) -> str:
        nets = json.loads(
            docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", container)
        )
        net = nets[network or self.network]
        return net["IPAddress"]

    def node_addresses(self) -> dict[str, str]:
        """Slurm node name -> the address the host reaches it at."""
        return {
            n.name: self.address(
                self.container(n.name), self.secure_network if n.secure else self.network
            )
            for n in self.nodes
        }

    def write_submit_conf(self) -> None:
        self.submit_conf.parent.mkdir(parents=True, exist_ok=True)
        self.submit_conf.write_text(self.slurm_conf(self.address(self.controller)))

    def exec(self, container: str, *cmd: str, user: str | None = None, check: bool = True):
        args = ["exec", *(["--user", user] if user else []), container, *cmd]
        return docker(*args, check=check)

    def sinfo(self) -> dict[str, str]:
        """Node name -> state, as the controller sees it."""
        out = self.exec(self.controller, "sinfo", "-h", "-N", "-o", "%N %t", check=False)
        states = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                states[parts[0]] = parts[1]
        return states

    def wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.sinfo()
            if states and all(states.get(n.name) in ("idle", "mix", "alloc") for n in self.nodes):
                return
            time.sleep(0.5)
        raise ClusterError(
            f"the Slurm nodes did not become idle within {timeout:.0f} s (sinfo: {states}); "
            f"see docker logs {self.controller} and docker logs {self.container('node1')}"
        )

    # --- the single-user image on the nodes -----------------------------------------------

    def image_archive(self) -> Path:
        """``docker save`` the single-user image once into the shared folder, by image id."""
        image_id = docker("image", "inspect", "--format", "{{.Id}}", self.user_image, check=False)
        image_id = image_id.strip()
        if not image_id:
            raise ClusterError(
                f"the single-user image {self.user_image} is not built: run make images"
            )
        archive = self.shared / "images" / f"{image_id.split(':')[-1][:12]}.tar"
        if not archive.exists():
            part = archive.with_suffix(".part")
            docker("save", "--output", str(part), self.user_image, timeout=900)
            os.chmod(part, 0o644)
            part.rename(archive)
            self.say(f"saved {self.user_image} to {archive.name}")
        return archive

    def load_image(self) -> str:
        """``podman load`` the archive on every node that lacks this image id; the id."""
        if self._loaded and self._loaded == self._user_image_id():
            return self._loaded
        archive = self.image_archive()
        image_id = archive.stem
        inside = f"{CLUSTER_ROOT}/images/{archive.name}"

        def load(node: Node) -> None:
            name = self.container(node.name)
            r = subprocess.run(
                [docker_binary(), "exec", "--user", "hdssjob", name, "podman", "image",
                 "exists", image_id],
                capture_output=True,
            )  # fmt: skip
            if r.returncode != 0:
                self.exec(name, "podman", "load", "--quiet", "--input", inside, user="hdssjob")
                self.say(f"{node.name}: loaded {image_id}")
            # The first run with --userns=keep-id copies the layers for that mapping (~20 s
            # here): done once now, not in a user's first spawn.
            self.exec(
                name, "env", f"XDG_RUNTIME_DIR=/run/user/{JOB_UID}", "podman", "run", "--rm",
                "--userns=keep-id", f"--user={JOB_UID}:{JOB_GID}", "--network=none",
                "--entrypoint=/bin/true", image_id, user="hdssjob",
            )  # fmt: skip

        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(load, self.nodes))
        self.say(f"{image_id} ready on every node")
        self._loaded = image_id
        return image_id

    def _user_image_id(self) -> str:
        out = docker("image", "inspect", "--format", "{{.Id}}", self.user_image, check=False)
        return out.strip().split(":")[-1][:12]

    # --- the submit host -------------------------------------------------------------------

    def start_munged(self) -> None:
        """A munged on this host with the cluster's key, on its own socket (idempotent)."""
        run = self.munge_socket.parent
        run.mkdir(parents=True, exist_ok=True)
        for folder in (run.parent, run):
            folder.chmod(0o755)
        pid_file = run / "munged.pid"
        if pid_file.exists() and self.munge_socket.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), 0)
                return
            except (ValueError, ProcessLookupError):
                pass
        munged = shutil.which("munged") or "/usr/sbin/munged"
        if not Path(munged).exists():
            raise ClusterError("munged is missing on this host: apt-get install munge slurm-client")
        r = subprocess.run(
            [munged, f"--socket={self.munge_socket}", f"--key-file={self.munge_key}",
             f"--log-file={run / 'munged.log'}", f"--pid-file={pid_file}",
             f"--seed-file={run / 'munged.seed'}"],
            capture_output=True, text=True,
        )  # fmt: skip
        if r.returncode != 0:
            raise ClusterError(f"munged did not start on this host: {r.stderr.strip()}")

    def stop_munged(self) -> None:
        run = self.munge_socket.parent
        try:
            pid = int((run / "munged.pid").read_text().strip())
            os.kill(pid, 15)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
        shutil.rmtree(run, ignore_errors=True)

    def submit_env(self) -> dict[str, str]:
        """The environment sbatch, squeue and scancel need on this host."""
        return {"SLURM_CONF": str(self.submit_conf)}

    # --- down -----------------------------------------------------------------------------

    def down(self) -> None:
        """Remove the containers, networks and Podman volumes (homes and the key stay)."""
        self.stop_munged()
        label = f"label=org.hdss.slurm={self.prefix}"
        ids = docker("ps", "-aq", "--filter", label).split()
        if ids:
            docker("rm", "-f", "-v", *ids)
            self.say("containers removed")
        vols = docker("volume", "ls", "-q", "--filter", label).split()
        if vols:
            # Each holds a node's Podman store (the image, twice: keep-id's copy); the engine
            # deletes one volume at a time per call, so one call per volume, side by side.
            with concurrent.futures.ThreadPoolExecutor(len(vols)) as pool:
                list(pool.map(lambda v: docker("volume", "rm", "-f", v), vols))
            self.say("node volumes removed")
        nets = docker("network", "ls", "-q", "--filter", label).split()
        if nets:
            docker("network", "rm", *nets)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A Slurm cluster as containers on this machine.")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--state", default="var/slurm", help="state folder (default var/slurm)")
    p.add_argument("--prefix", default="hdss-slurm", help="name prefix of what is created")
    p.add_argument("--synthetic", default="var/data/synthetic", help="published synthetic data")
    p.add_argument("--restricted", default="var/data/restricted", help="restricted data")
    args = p.parse_args(argv)
    synthetic = Path(args.synthetic) if Path(args.synthetic).is_dir() else None
    restricted = Path(args.restricted) if Path(args.restricted).is_dir() else None
    cluster = Cluster(Path(args.state), args.prefix, synthetic, restricted)
    try:
        if args.action == "up":
            cluster.up()
            print(f"slurm: up; partitions {cluster.partitions()}")
            print(f"slurm: submit from this host with SLURM_CONF={cluster.submit_conf}")
        elif args.action == "down":
            cluster.down()
            print(f"slurm: down (homes and the munge key stay in {cluster.state})")
        else:
            print(json.dumps(cluster.sinfo()))
    except ClusterError as e:
        print(f"slurm: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
