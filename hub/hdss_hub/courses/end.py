"""The end of a course: ``hdss-course end``, run daily (Ansible's hdss-course-end.timer).

For every course that has ended (its end date is before today, UTC), each member not
yet finished with and not covered by an extension is, in this order and each step an
audit entry: stopped (every server of theirs), disabled (unless another course that has
not ended, an extension, or being an admin or instructor keeps the account), archived
(their home volume), the archive verified, and only then the volume removed. An archive
that fails verification keeps the volume, is an audit entry with outcome ``failed`` and
an error in the log, and makes the run exit non-zero. A member who keeps their account
keeps their home as well. A member finished with is not processed again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from hdss_common import naming

from .archive import ArchiveError, archive_volume, verify
from .gate import CourseGate
from .lifecycle import keeps_account
from .model import Course

log = logging.getLogger(__name__)
ACTOR = "hdss-course"


class HubAPI:
    """The few hub REST calls the end of a course needs, with the course service's token."""

    def __init__(self, url: str, token: str, timeout: float = 30) -> None:
        self.url, self.timeout = url.rstrip("/") + "/hub/api", timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def _call(self, method: str, path: str) -> requests.Response:
        r = self.session.request(method, self.url + path, timeout=self.timeout)
        r.raise_for_status()
        return r

    def members(self, group: str) -> list[str]:
        r = self.session.get(f"{self.url}/groups/{group}", timeout=self.timeout)
        if r.status_code == 404:
            return []
        r.raise_for_status()
        return sorted(r.json().get("users", []))

    def servers(self, user: str) -> list[str]:
        r = self.session.get(f"{self.url}/users/{user}", timeout=self.timeout)
        if r.status_code == 404:
            return []
        r.raise_for_status()
        return sorted(r.json().get("servers", {}))

    def stop_all(self, user: str, deadline: float = 180) -> list[str]:
        names = self.servers(user)
        for name in names:
            self._call(
                "DELETE", f"/users/{user}/servers/{name}" if name else f"/users/{user}/server"
            )
        end = time.monotonic() + deadline
        while self.servers(user):
            if time.monotonic() > end:
                raise TimeoutError(f"the servers of {user} did not stop within {deadline:.0f} s")
            time.sleep(1)
        return names


@dataclass
class EndReport:
    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass
class Ender:
    gate: CourseGate
    hub: HubAPI
    client: Any  # docker.DockerClient
    image: str
    prefix: str
    home_template: str
    home_path: str
    archive_root: Path
    protected: set[str] = field(default_factory=set)

    def run(self, only: str | None = None) -> EndReport:
        report = EndReport()
        today = self.gate.today()
        for course in self.gate.courses.values():
            if (only and course.name != only) or not course.has_ended(today):
                continue
            for user in self.hub.members(course.group):
                self.end_member(course, user, today, report)
        return report

    def audit(self, action: str, target: str, outcome: str, **details: Any) -> None:
        self.gate.audit(ACTOR, action, target, outcome, **details)

    def end_member(self, course: Course, user: str, today: dt.date, report: EndReport) -> None:
        data = self.gate.store.read()
        if self.gate.store.ended(course.name, user, data):
            return
        extra = self.gate.extra_days(user, data)
        if not course.has_ended(today, extra.get(course.name, 0)):
            return  # an extension covers them; a later run ends it
        target = f"course:{course.name}/{user}"
        groups = self._groups_of(user)
        stopped = self.hub.stop_all(user)
        self.audit("course.stop", target, "ok", servers=stopped)
        why = keeps_account(
            user, course, self.gate.mine(groups), today, extra, protected=self.protected
        )
        if why:
            self.audit("course.keep", target, "ok", reason=why)
            self._finish(course, user, "kept", reason=why)
            report.kept.append(f"{course.name}/{user}: {why}")
            return
        with self.gate.store.update() as state:
            state["disabled"][user] = {"course": course.name, "end": f"{course.end}"}
        self.audit("course.disable", target, "ok")
        volume = naming.home_volume(self.prefix, user, self.home_template)
        outcome = self.archive(course, user, volume, target)
        if outcome:
            self._finish(course, user, "archived", archive=outcome)
            report.done.append(f"{course.name}/{user}: {outcome}")
        else:
            report.failed.append(f"{course.name}/{user}: the archive failed verification")

    def _groups_of(self, user: str) -> list[str]:
        return [c.group for c in self.gate.courses.values() if user in self.hub.members(c.group)]

    def archive(self, course: Course, user: str, volume: str, target: str) -> str:
        """The archive's path once verified and the volume removed; "" on failure."""
        import docker.errors

        try:
            self.client.volumes.get(volume)
        except docker.errors.NotFound:
            self.audit("course.archive", target, "skipped", reason=f"no volume {volume}")
            return "no home volume"
        now = self.gate.clock()
        try:
            archive = archive_volume(
                self.client,
                self.image,
                volume,
                self.home_path,
                self.archive_root,
                user=user,
                course=course.name,
                now=now,
            )
            self.audit("course.archive", target, "ok", archive=str(archive.path))
            manifest = verify(archive)
        except ArchiveError as e:
            log.error(
                "course %s: the archive of %s failed, volume %s kept: %s",
                course.name,
                user,
                volume,
                e,
            )
            self.audit("course.verify", target, "failed", volume=volume, error=str(e))
            return ""
        self.audit(
            "course.verify",
            target,
            "ok",
            sha256=manifest["sha256"],
            files=manifest["file_count"],
            bytes=manifest["total_bytes"],
        )
        self.client.volumes.get(volume).remove()
        self.audit("course.remove_volume", target, "ok", volume=volume)
        return str(archive.path)

    def _finish(self, course: Course, user: str, how: str, **details: Any) -> None:
        with self.gate.store.update() as state:
            state["ended"].setdefault(course.name, {})[user] = {
                "how": how,
                "at": self.gate.clock().isoformat(),
                **details,
            }
