"""What every sandbox spawner shares, whatever runs the server: profiles and who may pick
them, the spawn form, the secure profile's permission checks, the course gate, the
environment, and the progress events the user sees.

``SandboxBase`` is a mixin for a JupyterHub Spawner: ``hdss_spawner.spawner.SandboxSpawner``
(Docker) and ``hdss_slurm.spawner.SlurmSandboxSpawner`` (Slurm, on batchspawner) put it first
in their bases. It never touches an engine or a scheduler.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hdss_common import naming
from hdss_common.catalog import CatalogEntry, CatalogError, Sensitivity, load_catalog
from hdss_common.permissions import Grant, PermissionSource
from tornado.web import HTTPError
from traitlets import Any, Dict, Int, List, Unicode, default
from traitlets.config import LoggingConfigurable

from . import secure
from .form import render_form, render_secure_form
from .profiles import SECURE, Profile, choose, effective_groups, offered, parse_profiles


class SandboxBase(LoggingConfigurable):
    """The sandbox's policy and progress, shared by the Docker and the Slurm spawner."""

    profiles = Dict(
        config=True,
        help="""Resource profiles by name: {cpu_limit, mem_limit, groups, display_name,
        description, kind}. A profile is offered only to members of its groups.""",
    )
    default_groups = List(
        Unicode(),
        config=True,
        help="Groups that policy assumes for a user who belongs to no hub group.",
    )
    synthetic_root = Unicode(
        config=True, help="Host directory holding the published synthetic datasets."
    )
    restricted_root = Unicode(
        "", config=True, help="Host directory of restricted datasets (secure profile only)."
    )
    home_path = Unicode("/home/jovyan", config=True, help="Where the home volume is mounted.")
    permission_source = Any(
        None,
        allow_none=True,
        config=True,
        help="""Where research permissions come from: an object with the coroutines of
        hdss_common.permissions.PermissionSource (active_permission, why_not, audit).
        The hub's configure step sets the ledger's; None: secure servers are refused.""",
    )
    steward_group = Unicode("stewards", config=True, help="Group named in secure-profile denials.")
    secure_max_read_bytes = Int(
        1024 * 1024,
        config=True,
        help="""Largest non-notebook file a secure server's contents API returns (bytes);
        larger reads are refused and audited. Notebooks are not limited.""",
    )

    home_notice = Any(
        None,
        allow_none=True,
        config=True,
        help="""A callable (username, groups) -> str: a note about the user's home (e.g. over its
        disk quota) shown on the spawn form and the progress page; '' for none.""",
    )

    course_gate = Any(
        None,
        allow_none=True,
        config=True,
        help="""The course calendar (hdss_hub.courses.gate.CourseGate, or any object with its
        coroutines): refusal(username, groups, profile) -> reason ('' to allow) and
        prepare_home(username, groups, profile, volume, home_path, image) -> messages, which
        merges the open courses' materials into the home. None: no courses.""",
    )

    profile: Profile | None = None
    permission: Grant | None = None  # the active permission while a secure server runs
    datasets: list[CatalogEntry] = []

    @property
    def project_id(self) -> str | None:
        """The project of a secure server (named ``secure-<project>``), else None."""
        return naming.project_of(self.name or "")

    @default("options_form")
    def _default_options_form(self):
        return lambda spawner: spawner.render_options_form()  # a coroutine: awaited by the hub

    @default("options_from_form")
    def _default_options_from_form(self):
        def options_from_form(formdata):
            return {"profile": (formdata.get("profile") or [""])[0]}

        return options_from_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        return lambda spawner, user_options: spawner.apply_profile(user_options)

    # -- policy --------------------------------------------------------------------------

    @property
    def parsed_profiles(self) -> dict[str, Profile]:
        return parse_profiles(self.profiles)

    def user_groups(self) -> list[str]:
        return effective_groups([g.name for g in self.user.groups], self.default_groups)

    def catalog(self) -> list[CatalogEntry]:
        try:
            return load_catalog(Path(self.synthetic_root))
        except CatalogError as e:
            raise HTTPError(503, f"The datasets are not available: {e}") from e

    async def render_options_form(self) -> str:
        if self.project_id is not None:
            return await self.render_secure_options_form(self.project_id)
        mine = offered(self.parsed_profiles, self.user_groups())
        try:
            datasets = self.catalog()
        except HTTPError:
            datasets = []
        last = (self.orm_spawner.user_options or {}).get("profile", "") if self.orm_spawner else ""
        note = self.home_notice(self.user.name, self.user_groups()) if self.home_notice else ""
        return render_form(mine, datasets, selected=last, note=note)

    async def apply_profile(self, user_options: dict) -> None:
        """Pick the requested profile if the user may have it; 403 otherwise."""
        self._events = []
        self._emit(5, "Checking which profiles you may use")
        if self.project_id is not None:
            return await self.apply_secure_profile(self.project_id)
        requested = user_options.get("profile") if isinstance(user_options, dict) else None
        if requested is not None and not isinstance(requested, str):
            raise HTTPError(400, "The profile must be given as a name, e.g. 'course'.")
        profile = choose(self.parsed_profiles, self.user_groups(), requested)
        if self.course_gate is not None:
            refused = await self.course_gate.refusal(
                self.user.name, self.user_groups(), profile.name
            )
            if refused:
                raise HTTPError(403, refused)
        self.profile = profile
        self.cpu_limit = profile.cpu_limit
        self.mem_limit = profile.mem_limit
        self._emit(15, f"Profile {profile.title}: {profile.limits}")

    async def audit(self, action: str, outcome: str, *, actor: str = "", **details) -> None:
        """An audit entry about this server (by its owner unless ``actor``), off the loop."""
        target = f"server:{self.user.name}/{self.name}"
        actor = actor or self.user.name
        await self.permission_source.audit(actor, action, target, outcome, **details)

    async def audit_secure_start(self, **where) -> None:
        """The audit entry of a secure server that started: its permission, the restricted
        datasets it mounted (``name@version``, what the reconciler compares), its image."""
        await self.audit(
            "secure.start",
            "started",
            project_id=self.project_id,
            reference=self.permission.reference,
            datasets=[f"{d.name}@{d.version}" for d in self.datasets],
            image=self.image,
            **where,
        )

    async def secure_decision(self, project_id: str) -> tuple[Profile | None, Grant | None, str]:
        """(secure profile, active permission, reason refused); the reason is empty if allowed."""
        source: PermissionSource | None = self.permission_source
        if source is None:
            return None, None, "this hub has no permission ledger enabled"
        groups = self.user_groups()
        profiles = offered(self.parsed_profiles, groups, kind=SECURE)
        permission = await source.active_permission(self.user.name, project_id)
        if not profiles:
            reason = (
                f"the secure profile is not offered to your groups ({', '.join(groups) or 'none'})"
            )
        elif permission is None:
            reason = await source.why_not(self.user.name, project_id)
        else:
            reason = ""
        return (profiles[0] if profiles else None), permission, reason

    async def render_secure_options_form(self, project_id: str) -> str:
        """What a secure server will hold, shown before it starts (nothing is audited here)."""
        profile, permission, reason = await self.secure_decision(project_id)
        return render_secure_form(project_id, profile, None if reason else permission, reason)

    async def apply_secure_profile(self, project_id: str) -> None:
        """Open the secure profile only for a member of a project with an active permission."""
        requester, refused = secure.requester_refusal(self.handler, self.user.name)
        if refused:
            if self.permission_source is not None:
                await self.audit(
                    "secure.start", "denied", actor=requester, project_id=project_id, reason=refused
                )
            raise HTTPError(403, secure.denial_message(project_id, refused, self.steward_group))
        profile, permission, reason = await self.secure_decision(project_id)
        if reason:
            if self.permission_source is not None:
                await self.audit("secure.start", "denied", project_id=project_id, reason=reason)
            raise HTTPError(403, secure.denial_message(project_id, reason, self.steward_group))
        self.profile, self.permission = profile, permission
        self.cpu_limit = profile.cpu_limit
        self.mem_limit = profile.mem_limit
        self._emit(15, f"Permission {permission.reference} for {project_id} is active")

    def get_env(self):
        env = super().get_env()
        sensitivity = Sensitivity.RESTRICTED if self.project_id else Sensitivity.SYNTHETIC
        env["HDSS_DATA_ROOT"] = sensitivity.mount_root
        if self.profile is not None:
            env["HDSS_PROFILE"] = self.profile.name
        if self.project_id:
            env["HDSS_PROJECT"] = self.project_id
            env["HDSS_SECURE_MAX_READ_BYTES"] = str(self.secure_max_read_bytes)
            # No configuration from the project workspace (the server's home) can reach
            # the server process and its guard.
            env["JUPYTERHUB_DISABLE_USER_CONFIG"] = "1"
        return env

    _events: list[dict] = []

    def _emit(self, progress: int, message: str) -> None:
        self._events = [*self._events, {"progress": progress, "message": message}]
        self.log.info("spawn %s: %s", self._log_name, message)

    async def progress(self):
        """Spawn progress for the user's page: each step as it happens."""
        seen = 0
        while True:
            events = self._events
            while seen < len(events):
                yield events[seen]
                seen += 1
            if not self._spawn_pending:
                return
            await asyncio.sleep(0.25)
