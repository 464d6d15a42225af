"""The instructor page, a page of the hub itself: ``/hub/courses/`` and ``/hub/courses/<name>``.

It lives in the hub (not in a service) because what it shows is the hub's: the course
group's members and each one's ``last_activity`` (the value the users API returns), read
from the hub's database in the instructor's own hub session, with no token to hand out.
Access is by name: the course's ``instructors`` (and hub admins) see its roster and give
extra days; anyone else gets a 403 that says who can. ``?format=json`` returns the roster
as JSON for scripts.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from tornado import web

from .gate import CourseGate
from .lifecycle import status_row
from .model import Course, CourseError


def _iso(value) -> str:
    return f"{value.isoformat()}Z" if value is not None else ""


class CourseHandler(BaseHandler):
    gate: CourseGate

    def initialize(self, gate: CourseGate) -> None:
        self.gate = gate

    def _course(self, name: str) -> Course:
        user = self.current_user
        course = self.gate.courses.get(name)
        if course is None:
            raise web.HTTPError(404, f"There is no course {name!r}.")
        if not (user.admin or user.name in course.instructors):
            raise web.HTTPError(
                403,
                f"Only the instructors of {course.label} "
                f"({', '.join(course.instructors) or 'none named'}) see its roster.",
            )
        return course

    def roster(self, course: Course) -> list[dict[str, Any]]:
        group = orm.Group.find(self.db, course.group)
        members = sorted(group.users, key=lambda u: u.name) if group else []
        data = self.gate.store.read()
        today = self.gate.today()
        rows = []
        for u in members:
            extra = self.gate.store.extra_days(course.name, u.name, data)
            rows.append(
                {
                    "name": u.name,
                    "last_activity": _iso(u.last_activity),
                    "running": any(s.server is not None for s in u._orm_spawners),
                    "extra_days": extra,
                    "until": status_row(course, today, extra)["end"],
                    "disabled": bool(self.gate.store.disabled(u.name, data)),
                }
            )
        return rows

    async def page(self, course: Course | None, message: str = "", status: int = 200) -> None:
        user = self.current_user
        if course is None:
            teaches = self.gate.teaches(user.name, user.admin)
            if not teaches:
                raise web.HTTPError(403, "You are an instructor of no course.")
            ctx = {
                "course": None,
                "courses": [(c, status_row(c, self.gate.today())) for c in teaches],
            }
        else:
            ctx = {"course": course, "status": status_row(course, self.gate.today())}
            ctx["roster"] = self.roster(course)
        if self.get_argument("format", "") == "json":
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            body = {"message": message}
            if course is not None:
                body |= {"course": course.name, "group": course.group, "roster": ctx["roster"]}
            else:
                body["courses"] = [c.name for c, _ in ctx["courses"]]
            self.finish(json.dumps(body))
            return
        self.set_status(status)
        self.finish(await self.render_template("courses.html", message=message, **ctx))

    @web.authenticated
    async def get(self, name: str = "") -> None:
        await self.page(self._course(name) if name else None)

    @web.authenticated
    async def post(self, name: str = "") -> None:
        """Give a student extra days: form fields ``student`` and ``days``."""
        if not name:
            raise web.HTTPError(405)
        course = self._course(name)
        student = self.get_argument("student", "")
        try:
            days = int(self.get_argument("days", ""))
        except ValueError:
            await self.page(course, "days must be a whole number of days", 400)
            return
        members = {row["name"] for row in self.roster(course)}
        try:
            await asyncio.to_thread(
                self.gate.extend, self.current_user.name, course.name, student, days, members
            )
        except CourseError as e:
            await self.page(course, str(e), 400)
            return
        await self.page(course, f"{student} has {days} extra days on {course.label}.")


def course_handlers(gate: CourseGate) -> list[tuple[str, type, dict]]:
    """``c.JupyterHub.extra_handlers`` entries (JupyterHub puts them under /hub/)."""
    return [
        (r"/courses/?", CourseHandler, {"gate": gate}),
        (r"/courses/([A-Za-z0-9][A-Za-z0-9._-]*)/?", CourseHandler, {"gate": gate}),
    ]
