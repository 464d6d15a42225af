"""SlurmSandboxSpawner: the sandbox's servers as Slurm jobs, on batchspawner's SlurmSpawner.

Selected by the settings' ``backend: slurm`` (hdss_hub.configure.apply_slurm). What a user
may start is decided exactly as on Docker (``SandboxBase``: profiles per group, the course
gate, the secure profile's permission); what runs is the job script of
``hdss_slurm.jobscript``: rootless Podman with the Docker backend's hardening, the
synthetic data read-only, the user's home on the cluster file system.

batchspawner does the talking to Slurm (``sbatch``, ``squeue``, ``scancel``, its job
states, ``poll``, ``stop`` and the job id kept in the hub's database, so a hub restart
finds running jobs again). Changed here, each for a reason:

- the batch script is ours, rendered from the profile; batchspawner's template would also
  take the user's ``user_options`` as template variables;
- the port comes from the job's comment (see the job script), never from batchspawner's
  ``/api/batchspawner`` handler, which sets any spawner attribute a server's token posts
  and is removed from the hub's handlers when this module is imported;
- no ``sudo -u <user>``: users are the university's, not the cluster's; every job runs as
  one cluster account (``job_uid``) and users are kept apart by their containers;
- the environment holds no account data from this host (batchspawner reads ``pwd``);
- ``start`` tells the user the job's state and place in the queue, and turns the
  scheduler's refusals into messages the user can act on.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import time

from batchspawner import SlurmSpawner
from batchspawner.batchspawner import JobStatus
from hdss_common import naming
from hdss_spawner import secure
from hdss_spawner.base import SandboxBase
from hdss_spawner.readiness import wait_listening
from hdss_spawner.startqueue import ordinal
from jupyterhub.apihandlers import default_handlers
from tornado.web import HTTPError
from traitlets import Dict, Int, Unicode, default

from .jobscript import PORT_ARG, JobSpec, JobSpecError, render

BATCHSPAWNER_API = r"/api/batchspawner"
# batchspawner registers its handler when imported: remove it (see the module's docstring).
default_handlers[:] = [h for h in default_handlers if h[0] != BATCHSPAWNER_API]

# Passed on to the container by name: what JupyterHub gives a server, and ours.
ENV_PREFIXES = ("JUPYTERHUB_", "JPY_", "HDSS_")
PORT_RE = re.compile(r"\bhdss-port=(\d{1,5})\b")
MEM_RE = re.compile(r"^(\d+)([KMGT]?)$")
MEM_FACTOR = {"": 1 / 1024**2, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}


def mem_mb(limit: str | int | None, default: int = 1024) -> int:
    """A profile's memory limit (e.g. ``2G``, or bytes) as Slurm's megabytes."""
    if limit is None or limit == "":
        return default
    if isinstance(limit, int | float):
        return max(1, int(limit / 1024**2))
    m = MEM_RE.match(str(limit).strip().upper())
    if not m:
        raise JobSpecError(f"memory limit {limit!r}: use a number with K, M, G or T")
    return max(1, int(int(m.group(1)) * MEM_FACTOR[m.group(2)]))


def explain(error: str, partition: str) -> str:
    """What the scheduler said, as something the user (or the operator) can act on."""
    said = error.strip().splitlines()[-1] if error.strip() else "no output"
    low = error.lower()
    if "invalid partition" in low:
        return (
            f"The cluster has no partition {partition!r}, which your profile submits to. "
            "Tell the sandbox's operators (settings: slurm.partition or the profile's "
            "partition)."
        )
    if "unable to contact slurm controller" in low or "socket timed out" in low:
        return (
            "The cluster's scheduler (slurmctld) does not answer, so no server can start "
            "there now. Try again in a few minutes; the operators have been told by the log."
        )
    if "munge" in low or "invalid authentication credential" in low or "auth" in low:
        return (
            "The cluster refused this hub's credentials (munge): the hub's munge key is "
            "not the cluster's. The operators must install the cluster's key on the hub."
        )
    if "requested node configuration is not available" in low or "memory specification" in low:
        return (
            f"No node of partition {partition!r} has the CPUs or memory your profile asks "
            "for. Pick a smaller profile, or ask the operators to change it."
        )
    if "qos" in low:
        return f"The cluster refused the profile's QoS: {said}"
    if "time limit" in low:
        return f"The cluster refused the profile's time limit: {said}"
    return f"The cluster refused the server's job: {said}"


def pending_note(job_id: str, partition: str, place: int, pending: int, reason: str) -> str:
    """What the progress page says while the job waits in the queue."""
    if place and reason in ("Resources", "Priority"):
        return (
            f"The {partition} partition is full: you are {ordinal(place)} of {pending} "
            "waiting; your server starts when a node frees up"
        )
    if place and reason not in ("", "None"):
        return f"Job {job_id} waits in {partition}: the scheduler says {reason}"
    return f"Job {job_id} is being placed on a node of {partition}"


class SlurmSandboxSpawner(SandboxBase, SlurmSpawner):
    """One hardened container per user, as a Slurm job on a compute node."""

    image = Unicode(
        "hdss/singleuser:latest",
        config=True,
        help="The single-user image as loaded on the nodes (make slurm-up loads it by id).",
    )
    default_partition = Unicode(
        "sandbox", config=True, help="Partition of sandbox profiles that name none."
    )
    secure_partition = Unicode(
        "secure",
        config=True,
        help="Partition of the secure profile: nodes with no egress and the restricted data.",
    )
    default_time_limit = Unicode("08:00:00", config=True, help="[D-]HH:MM:SS")
    home_root = Unicode(
        "/cluster/home", config=True, help="The users' homes on the cluster file system."
    )
    projects_root = Unicode(
        "/cluster/projects",
        config=True,
        help="Secure projects' workspaces on the cluster file system (secure nodes only).",
    )
    hub_home_root = Unicode(
        "",
        config=True,
        help="The homes folder as this host mounts it (job logs are read from beside it).",
    )
    job_uid = Int(-1, config=True, help="sbatch --uid (the hub runs as root); -1: the hub's.")
    job_gid = Int(-1, config=True, help="sbatch --gid; -1: the account's own group.")
    node_addresses = Dict(
        config=True, help="Slurm node name -> the address this host reaches it at."
    )
    slurm_env = Dict(
        config=True,
        help="Environment for sbatch, squeue and scancel on this host (e.g. SLURM_CONF).",
    )

    # Nobody's identity on this host matters: the job runs as the cluster account.
    exec_prefix = Unicode("").tag(config=True)
    batch_query_cmd = Unicode("squeue -h -j {job_id} -o '%T %B %k'").tag(config=True)
    state_exechost_re = Unicode(r"^\S+\s+(\S+)").tag(config=True)
    startup_poll_interval = 0.25

    @default("batch_submit_cmd")
    def _default_submit(self):
        ids = []
        if self.job_uid >= 0:
            ids.append(f"--uid={self.job_uid}")
        if self.job_gid >= 0:
            ids.append(f"--gid={self.job_gid}")
        return " ".join(["sbatch", "--parsable", *ids])

    @default("req_homedir")
    def _default_homedir(self):
        return self.user_home()

    @default("req_username")
    def _default_username(self):
        return naming.escape(self.user.name)

    def user_env(self, env):
        """batchspawner reads the user's account on this host; there is none to read."""
        return env

    def user_home(self) -> str:
        """The user's home (or a secure project's workspace) on the cluster file system."""
        if self.project_id is not None:
            return f"{self.projects_root}/{self.project_id}"
        return f"{self.home_root}/{naming.escape(self.user.name)}"

    @property
    def job_name(self) -> str:
        server = f"-{naming.escape(self.name)}" if self.name else ""
        return f"hdss-{naming.escape(self.user.name)}{server}"[:63]

    def partition(self) -> str:
        if self.profile is not None and self.profile.partition:
            return self.profile.partition
        return self.secure_partition if self.project_id is not None else self.default_partition

    # -- the job ---------------------------------------------------------------------------

    def job_spec(self) -> JobSpec:
        env = self.get_env()
        names = sorted(k for k in env if k.startswith(ENV_PREFIXES))
        profile = self.profile
        restricted = list(self.permission.datasets) if self.project_id and self.permission else []
        # A secure server: no downloads, no /files/, its guard loaded or no server at all.
        guard = list(secure.NO_DOWNLOAD_ARGS) if self.project_id is not None else []
        return JobSpec(
            name=self.job_name,
            partition=self.partition(),
            image=self.image,
            home=self.user_home(),
            command=[*self.cmd, *self.get_args(), *guard, "--ip=0.0.0.0", PORT_ARG],
            cpus=max(1, int(round(profile.cpu_limit))) if profile else 1,
            mem_mb=mem_mb(profile.mem_limit if profile else None),
            time_limit=(profile.time_limit if profile else "") or self.default_time_limit,
            env_names=names,
            restricted=restricted,
            output=self.job_log(),
            secure=self.project_id is not None,
            report_port=True,
        )

    def job_log(self) -> str:
        """The job's output on the cluster file system, beside the homes."""
        root = self.home_root.rstrip("/").rsplit("/", 1)[0] or "/"
        return f"{root}/logs/{self.job_name}-%j.log"

    def job_log_tail(self, lines: int = 5) -> str:
        """The last lines of the job's log, if this host mounts the cluster file system."""
        if not self.hub_home_root or not self.job_id:
            return ""
        root = self.hub_home_root.rstrip("/").rsplit("/", 1)[0] or "/"
        path = f"{root}/logs/{self.job_name}-{self.job_id}.log"
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                said = [line.strip() for line in f if line.strip()]
        except OSError:
            return ""
        return " / ".join(said[-lines:])

    async def _get_batch_script(self, **subvars):
        """Our script, from the profile: the template variables (which batchspawner fills
        from ``user_options`` too) are not used."""
        try:
            return render(self.job_spec())
        except JobSpecError as e:
            raise HTTPError(500, f"The server's job cannot be written: {e}") from e

    async def run_command(self, cmd, input=None, env=None):
        """batchspawner's runner, with this host's Slurm environment."""
        base = env if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        return await super().run_command(cmd, input=input, env={**base, **self.slurm_env})

    async def submit_batch_script(self):
        """sbatch the script with the server's environment (passed on by name only)."""
        cmd = self.batch_submit_cmd
        script = await self._get_batch_script()
        self.log.info("spawn %s: %s (partition %s)", self._log_name, cmd, self.partition())
        env = {**self.get_env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        out = await self.run_command(cmd, input=script, env=env)
        self.job_id = self.parse_job_id(out)
        return self.job_id

    # -- states ----------------------------------------------------------------------------

    def job_port(self) -> int:
        m = PORT_RE.search(self.job_status or "")
        return int(m.group(1)) if m else 0

    def state_gethost(self):
        host = super().state_gethost()
        return self.node_addresses.get(host, host) if host else host

    async def queue_place(self) -> tuple[int, int, str]:
        """(this job's place among the partition's pending jobs, how many are pending, the
        scheduler's reason it waits: Resources, Priority, None while being placed)."""
        cmd = f"squeue -h -t PENDING -p {shlex.quote(self.partition())} --sort=-p,i -o '%i %r'"
        try:
            out = await self.run_command(cmd)
        except RuntimeError:
            return 0, 0, ""
        rows = [line.split(None, 1) for line in out.splitlines() if line.strip()]
        ids = [r[0] for r in rows]
        if self.job_id not in ids:
            return 0, len(ids), ""
        place = ids.index(self.job_id) + 1
        return place, len(ids), (rows[place - 1] + [""])[1].strip()

    async def start(self):
        """Submit, follow the job through the queue to a node, wait for its server."""
        if self.profile is None:
            await self.apply_profile(self.user_options or {})
        if self.project_id is not None:
            await self.recheck_permission()
            # Published here (the hub's copy of what the secure nodes mount), or a 503 that
            # names what is missing: never a job that fails on the node.
            self.datasets = secure.restricted_entries(
                self.restricted_root, tuple(self.permission.datasets)
            )
        partition = self.partition()
        self.ip, self.port = "0.0.0.0", 0
        if self.server:
            self.server.port = self.port
        self._emit(30, f"Submitting your server to the {partition} partition")
        try:
            await self.submit_batch_script()
        except RuntimeError as e:
            self.log.error("spawn %s: sbatch refused: %s", self._log_name, e)
            raise HTTPError(503, explain(str(e), partition)) from e
        self._emit(40, f"Job {self.job_id} submitted to {partition}")
        host = await self.wait_running(partition)
        self._emit(75, f"Job {self.job_id} runs on {host}: waiting for JupyterLab to answer")
        self.ip = self.state_gethost()
        if not await wait_listening(self.ip, self.port, timeout=self.http_timeout):
            tail = self.job_log_tail()
            raise HTTPError(
                503,
                f"Your server on {host} did not answer within {self.http_timeout} s"
                + (f" (job log: {tail})" if tail else ""),
            )
        if self.project_id is not None:
            await self.audit_secure_start(job=self.job_id, node=host)
        return self.ip, self.port

    async def wait_running(self, partition: str) -> str:
        """Until the job runs and has recorded its port; the node's name. Queue places and
        the scheduler's reason for waiting go to the progress page as they change."""
        told = ""
        while True:
            status = await self.query_job_status()
            if status == JobStatus.RUNNING:
                self.port = self.job_port()
                if self.port:
                    return (self.job_status.split() + ["?", "?"])[1]
                note = f"Job {self.job_id} is starting on its node"
            elif status == JobStatus.PENDING:
                note = pending_note(self.job_id, partition, *await self.queue_place())
            elif status == JobStatus.UNKNOWN:
                note = "The cluster's scheduler does not answer; still trying"
            else:
                tail = self.job_log_tail()
                job = self.job_id
                self.clear_state()
                raise HTTPError(
                    503,
                    f"Your server's job {job} ended before JupyterLab started"
                    + (f": {tail}" if tail else "; the operators can read its log on the cluster"),
                )
            if note != told:
                self._emit(50, note)
                told = note
            await asyncio.sleep(self.startup_poll_interval)

    async def recheck_permission(self) -> None:
        """Just before submitting: the permission must still be active."""
        now = await self.permission_source.active_permission(self.user.name, self.project_id)
        if now is None:
            reason = await self.permission_source.why_not(self.user.name, self.project_id)
            await self.audit("secure.start", "denied", project_id=self.project_id, reason=reason)
            raise HTTPError(403, secure.denial_message(self.project_id, reason, self.steward_group))
        self.permission = now

    async def stop(self, now=False):
        """scancel; the job script's trap removes the container (see jobscript)."""
        t0 = time.monotonic()
        await super().stop(now=now)
        self.log.info(
            "stop %s: job %s cancelled in %.1f s", self._log_name, self.job_id,
            time.monotonic() - t0,
        )  # fmt: skip
        if self.project_id is not None and self.permission_source is not None:
            await self.audit("secure.stop", "stopped", project_id=self.project_id)
