"""The hub's side of the courses: spawns, logins, the home page and extensions.

One ``CourseGate`` is handed to the spawner (``course_gate``; traitlets gives each spawner
a copy), the authenticator (``post_auth_hook``), the home page and the instructor page.
What changes (extensions, closed accounts) lives in the store's file, so every copy reads
the same calendar. ``clock`` returns timezone-aware UTC now: by default the module's
``utcnow``, looked up at each call, so a test (or a rehearsal through
``hub.extra_config_dir``) sets the time of every copy by replacing ``gate.utcnow``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tornado.web import HTTPError

from . import lifecycle
from .materials import sync_into_volume
from .model import Course, CourseError, courses_of
from .store import CourseStore

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def module_clock() -> dt.datetime:
    """``utcnow`` as this module holds it when called (replaceable for every gate at once)."""
    return utcnow()


class CourseGate:
    def __init__(
        self,
        courses: Iterable[Course],
        store: CourseStore,
        *,
        snapshots: Mapping[str, Path] | None = None,
        audit: Callable[..., Any] | None = None,
        docker_host: str = "",
        admins: Iterable[str] = (),
        clock: Clock = module_clock,
    ) -> None:
        self.courses = {c.name: c for c in courses}
        self.store = store
        self.snapshots = dict(snapshots or {})
        self._audit = audit
        self.docker_host = docker_host
        self.admins = set(admins)
        self.clock = clock

    def today(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    def mine(self, groups: Iterable[str]) -> list[Course]:
        return courses_of(self.courses.values(), groups)

    def extra_days(self, user: str, data: dict | None = None) -> dict[str, int]:
        data = data or self.store.read()
        return {name: self.store.extra_days(name, user, data) for name in self.courses}

    def audit(self, actor: str, action: str, target: str, outcome: str, **details: Any) -> None:
        if self._audit is not None:
            self._audit(actor, action, target, outcome, **details)

    # -- spawns and logins ----------------------------------------------------------------

    def decision(self, user: str, groups: Iterable[str], profile: str) -> lifecycle.Decision:
        data = self.store.read()
        return lifecycle.spawn_decision(
            self.mine(groups),
            profile,
            self.today(),
            self.extra_days(user, data),
            self.store.disabled(user, data),
        )

    async def refusal(self, user: str, groups: list[str], profile: str) -> str:
        """Why ``user`` may not start a ``profile`` server now ("" if they may)."""
        d = await asyncio.to_thread(self.decision, user, groups, profile)
        if not d.allowed:
            await asyncio.to_thread(
                self.audit,
                user,
                "course.spawn",
                f"user:{user}",
                "denied",
                profile=profile,
                reason=d.message,
            )
        return "" if d.allowed else d.message

    async def prepare_home(
        self, user: str, groups: list[str], profile: str, volume: str, home_path: str, image: str
    ) -> list[str]:
        """Merge each open course's materials into the home; one message per course."""
        d = await asyncio.to_thread(self.decision, user, groups, profile)
        messages = []
        for c in d.courses:
            snapshot = self.snapshots.get(c.name)
            if snapshot is None:
                continue
            plan = await asyncio.to_thread(self._sync, volume, home_path, image, c, snapshot)
            messages.append(
                f"Course materials of {c.label} in ~/{c.name}: {len(plan.write)} new or updated"
                + (f", {len(plan.kept)} you changed kept" if plan.kept else "")
            )
        return messages

    def _sync(self, volume: str, home_path: str, image: str, course: Course, snapshot: Path):
        import docker

        client = docker.DockerClient(base_url=self.docker_host or None, version="auto")
        try:
            return sync_into_volume(client, image, volume, home_path, course.name, snapshot)
        finally:
            client.close()

    def post_auth_hook(self, authenticator: Any, handler: Any, auth_model: dict) -> dict:
        """Refuse the login of an account closed at the end of its course (403, saying why)."""
        user = auth_model["name"]
        disabled = self.store.disabled(user)
        if disabled and not self._reopened(user, auth_model.get("groups")):
            raise HTTPError(
                403,
                f"Your account was closed when the course {disabled.get('course')} ended on "
                f"{disabled.get('end')}. Your home is archived; ask the course's instructor.",
            )
        return auth_model

    def _reopened(self, user: str, groups: Iterable[str] | None) -> bool:
        today, extra = self.today(), self.extra_days(user)
        names = set(groups or [])
        return any(
            c.is_open(today, extra.get(c.name, 0))
            for c in self.courses.values()
            if c.group in names
        )

    # -- pages ----------------------------------------------------------------------------

    def home_rows(self, user: str, groups: Iterable[str]) -> list[dict[str, str]]:
        today, extra = self.today(), self.extra_days(user)
        return [lifecycle.status_row(c, today, extra.get(c.name, 0)) for c in self.mine(groups)]

    def teaches(self, user: str, is_admin: bool = False) -> list[Course]:
        """The courses whose roster ``user`` may see: their own as instructor; all for admins."""
        return [c for c in self.courses.values() if is_admin or user in c.instructors]

    def extend(
        self, actor: str, course_name: str, student: str, days: int, members: set[str]
    ) -> int:
        """Give ``student`` ``days`` extra days (replacing what they had); CourseError else."""
        course = self.courses.get(course_name)
        if course is None:
            raise CourseError(f"there is no course {course_name!r}")
        if student not in members:
            raise CourseError(f"{student} is not a member of {course.name} (group {course.group})")
        if not 0 <= days <= course.max_extension_days:
            raise CourseError(
                f"extra days must be between 0 and {course.max_extension_days} for {course.name}"
                f" (courses.{course.name}.max_extension_days)"
            )
        before = 0
        with self.store.update() as data:
            ext = data["extensions"].setdefault(course.name, {})
            before = int(ext.get(student, {}).get("days", 0))
            ext[student] = {"days": days, "by": actor, "at": self.clock().isoformat()}
        self.audit(
            actor,
            "course.extend",
            f"course:{course.name}/{student}",
            "ok",
            days=days,
            before=before,
            until=f"{course.end + dt.timedelta(days=days)}",
        )
        return days
