"""SandboxSpawner: DockerSpawner with profiles per group, the data policy and hardening.

Policy is applied at DockerSpawner's override points, never by rewriting ``start``:
``apply_user_options`` picks and checks the profile, ``create_object`` lays down the
mounts and the hardened host config, ``progress`` reports each step to the user.
``start`` only adds a turn in the hub's start queue around DockerSpawner's own start (at
most ``starting_at_once`` servers start together, the rest wait in order and see their place)
and a wait for the server's port.
"""

from __future__ import annotations

import asyncio
import os

import docker.errors
from dockerspawner import DockerSpawner
from hdss_common import containers, naming
from hdss_common.catalog import CatalogEntry, Sensitivity
from tornado.web import HTTPError
from traitlets import Int, Unicode, default

from . import policy, secure
from .base import SandboxBase
from .engine import EngineNotAnswering, engine_unreachable
from .readiness import wait_listening
from .startqueue import QueueWaitTooLong, StartQueue, ordinal


class SandboxSpawner(SandboxBase, DockerSpawner):
    """One hardened container per user, with the synthetic datasets mounted read-only.

    Profiles, the spawn form, the secure profile's checks and the progress events come from
    ``SandboxBase`` (shared with the Slurm backend)."""

    pids_limit = Int(512, config=True, help="Most processes a user's container may run.")
    home_volume = Unicode(
        naming.HOME_VOLUME_TEMPLATE,
        config=True,
        help="Name template of the per-user home volume (a named Docker volume); "
        "{prefix} and {username} (escaped) are filled in.",
    )
    secure_network = Unicode(
        "", config=True, help="The --internal Docker network secure servers run on (no egress)."
    )
    starting_at_once = Int(
        0,
        config=True,
        help="""Servers this hub starts at the same time (0: one per CPU core, at least 2).
        Further spawns wait in order, their place in line shown on the progress page,
        instead of JupyterHub's 429 of concurrent_spawn_limit.""",
    )
    queue_wait_seconds = Int(
        600,
        config=True,
        help="""Longest a spawn waits in line for its turn to start; then it fails with a
        message saying the sandbox is busy. Spawner.start_timeout must cover it.""",
    )

    # One queue per hub process (and size), shared by every server's spawner.
    _start_queues: dict[int, StartQueue] = {}

    @default("volumes")
    def _default_volumes(self):
        return {naming.home_volume(self.prefix, self.user.name, self.home_volume): self.home_path}

    @default("remove")
    def _default_remove(self):
        # Containers are recreated at each start so policy changes always apply;
        # the home volume keeps the user's work.
        return True

    @default("use_internal_ip")
    def _default_use_internal_ip(self):
        return True

    async def lay_out_secure(self) -> list[CatalogEntry]:
        """Restricted data, the project workspace, the project's network, no downloads."""
        entries = secure.restricted_entries(self.restricted_root, self.permission.datasets)
        self.read_only_volumes = policy.dataset_binds(entries, Sensitivity.RESTRICTED)
        self.volumes = {naming.project_volume(self.prefix, self.project_id): self.home_path}
        if not self.secure_network:
            raise HTTPError(503, "No internal network is configured for secure servers.")
        self.network_name = await self.ensure_project_network()
        self.args = [a for a in self.args if a not in secure.NO_DOWNLOAD_ARGS] + list(
            secure.NO_DOWNLOAD_ARGS
        )
        return entries

    async def ensure_project_network(self) -> str:
        """The project's own ``--internal`` network, created on first use.

        No egress (internal), no traffic between containers (icc off), and a bridge
        named for the host firewall that lets only the hub's API answer from the host
        (see hdss_hub.firewall). Other projects' servers sit on networks of their own.
        """
        name = naming.secure_network(self.secure_network, self.project_id)
        try:
            await self.docker("inspect_network", name)
            return name
        except docker.errors.NotFound:
            pass
        options = {
            "com.docker.network.bridge.name": naming.secure_bridge(
                self.secure_network, self.project_id
            ),
            "com.docker.network.bridge.enable_icc": "false",
        }
        labels = {"org.hdss.secure-project": self.project_id}
        try:
            await self.docker(
                "create_network",
                name,
                driver="bridge",
                internal=True,
                options=options,
                labels=labels,
            )
        except docker.errors.APIError as e:
            if e.status_code != 409:  # 409: created meanwhile by another spawn
                raise HTTPError(
                    503, f"The project's network {name} cannot be created: {e.explanation}"
                ) from e
        self._emit(25, f"Project network {name} (no egress, no other project) is ready")
        return name

    async def create_object(self):
        """Mount the catalogued data read-only and harden the container, then create it."""
        if self.profile is None:  # started without apply_user_options (e.g. by an old state)
            await self.apply_profile(self.user_options or {})
        if self.project_id is not None:
            self.datasets = await self.lay_out_secure()
            kind = "restricted data read-only, no network egress"
        else:
            self.datasets = self.catalog()
            self.read_only_volumes = policy.dataset_binds(self.datasets, Sensitivity.SYNTHETIC)
            kind = "synthetic data read-only"
            await self.prepare_course_home()
        names = ", ".join(d.mount_path for d in self.datasets) or "none published yet"
        self._emit(30, f"Mounting the {kind}: {names}")
        policy.check_volumes(self.volumes)
        extra = self._eval_if_callable(self.extra_host_config)
        if asyncio.iscoroutine(extra):
            extra = await extra
        self.extra_host_config = policy.hardened_host_config(extra, self.pids_limit)
        extra_create = self._eval_if_callable(self.extra_create_kwargs)
        if asyncio.iscoroutine(extra_create):
            extra_create = await extra_create
        self.extra_create_kwargs = {**(extra_create or {}), "user": containers.NON_ROOT_USER}
        policy.check_binds(self.volume_binds, [str(d.path) for d in self.datasets])
        self._emit(45, "Creating your container (non-root, no capabilities)")
        return await super().create_object()

    async def prepare_course_home(self) -> None:
        """The open courses' materials merged into the home before the server starts."""
        if self.course_gate is None or self.profile is None:
            return
        volume = naming.home_volume(self.prefix, self.user.name, self.home_volume)
        for message in await self.course_gate.prepare_home(
            self.user.name,
            self.user_groups(),
            self.profile.name,
            volume,
            self.home_path,
            self.image,
        ):
            self._emit(28, message)

    async def start_object(self):
        if self.project_id is not None:
            await self.recheck_permission()
        self._emit(60, "Starting your container")
        await super().start_object()
        if self.project_id is not None:
            await self.audit_secure_start()
        self._emit(75, "Waiting for JupyterLab to answer")

    async def recheck_permission(self) -> None:
        """Between create and start: the permission must still cover what was mounted.

        A steward may revoke or amend the permission while the container is created; then
        the container is removed, the refusal audited, and the spawn fails with a 403.
        """
        now = await self.permission_source.active_permission(self.user.name, self.project_id)
        reason = secure.uncovered(now, [d.name for d in self.datasets])
        if not reason:
            self.permission = now
            return
        await self.audit("secure.start", "denied", project_id=self.project_id, reason=reason)
        await self.remove_object()
        raise HTTPError(403, secure.denial_message(self.project_id, reason, self.steward_group))

    def start_queue(self) -> StartQueue:
        """The hub's queue of server starts (see hdss_spawner.startqueue)."""
        slots = self.starting_at_once or max(2, os.cpu_count() or 1)
        queues = SandboxSpawner._start_queues
        if slots not in queues:
            queues[slots] = StartQueue(slots)
        return queues[slots]

    def _tell_place(self, place: int, starting: int) -> None:
        self._emit(
            20,
            f"Waiting to start: {ordinal(place)} in line "
            f"({starting} {'server is' if starting == 1 else 'servers are'} starting now)",
        )

    async def start(self):
        """DockerSpawner's start in its turn, returning once the server listens (readiness).

        An engine that does not answer fails the spawn with a message saying so; so does a
        turn that does not come within ``queue_wait_seconds``."""
        note = self.home_notice(self.user.name, self.user_groups()) if self.home_notice else ""
        if note:
            self._emit(18, note)
        queue = self.start_queue()
        try:
            async with queue.turn(self._tell_place, timeout=self.queue_wait_seconds):
                try:
                    ip, port = await super().start()
                except Exception as e:
                    if engine_unreachable(e):
                        self.log.error(
                            "spawn %s: the engine does not answer: %r", self._log_name, e
                        )
                        raise EngineNotAnswering() from e
                    raise
                await wait_listening(ip, port, timeout=self.http_timeout)
        except QueueWaitTooLong as e:
            raise HTTPError(
                503,
                f"The sandbox is busy: your server had no turn to start within "
                f"{self.queue_wait_seconds} s ({queue.waiting} still waiting). "
                "Press Start again in a few minutes.",
            ) from e
        return ip, port

    async def stop(self, now=False):
        await super().stop(now=now)
        if self.project_id is not None and self.permission_source is not None:
            await self.audit("secure.stop", "stopped", project_id=self.project_id)

    # -- progress ------------------------------------------------------------------------
