"""Who sees which usage figures, and the pages that show them.

``/hub/usage`` (a page) and ``/hub/usage.csv`` list per user: CPU hours, peak memory, home
disk use, server hours, grouped by course (hub group). A hub admin sees every group; an
instructor of a course in the settings sees that course's group; a member of
``usage.instructor_group`` also sees the other groups they belong to; anyone else gets a 403. A student sees only their own home's figure, on the home page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from .usage import UsageStore, home_status, human, quota_for

COLUMNS = [
    "group",
    "user",
    "cpu_hours",
    "peak_memory_mib",
    "home_mib",
    "home_quota_mib",
    "server_hours",
]
NO_GROUP = "(no group)"


def visible_groups(
    is_admin: bool,
    viewer_groups: Iterable[str],
    all_groups: Iterable[str],
    usage: Mapping,
    taught: Iterable[str] = (),
) -> list[str] | None:
    """The groups whose members' figures the viewer may see; None: none at all (403).

    ``taught``: the groups of the courses (``courses:`` in the settings) that name the
    viewer as an instructor."""
    mine, taught = set(viewer_groups), set(taught)
    if is_admin:
        return sorted(all_groups) + [NO_GROUP]
    if usage["instructor_group"] in mine:
        hidden = {usage["instructor_group"], *usage.get("not_courses", [])}
        return sorted(taught | (mine - hidden))
    return sorted(taught) if taught else None


def usage_rows(
    store: UsageStore,
    members: Mapping[str, list[str]],
    groups_of: Mapping[str, list[str]],
    profiles: Mapping[str, dict],
    shown: Iterable[str],
) -> list[dict[str, Any]]:
    """One row per (group, user) for the ``shown`` groups; ``members``: group -> users."""
    rows = []
    for group in shown:
        users = members.get(group, []) if group != NO_GROUP else _ungrouped(groups_of)
        for name in sorted(users):
            u = store.user(name)
            quota = quota_for(profiles, groups_of.get(name, []))
            rows.append(
                {
                    "group": group,
                    "user": name,
                    "cpu_hours": round(u.get("cpu_seconds", 0.0) / 3600, 4),
                    "peak_memory_mib": _mib(u.get("memory_peak")),
                    "home_mib": _mib(u.get("home_bytes")),
                    "home_quota_mib": _mib(quota),
                    "server_hours": round(u.get("server_seconds", 0.0) / 3600, 4),
                }
            )
    return rows


def _ungrouped(groups_of: Mapping[str, list[str]]) -> list[str]:
    return [name for name, groups in groups_of.items() if not groups]


def _mib(n: int | None) -> float | str:
    return "" if n is None else round(n / 1024**2, 1)


def csv_text(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def home_view(
    store: UsageStore, settings: Mapping[str, Any], username: str, groups: list[str]
) -> dict[str, Any]:
    """The home page's disk line for ``username``: used, quota, warning, when measured."""
    u = store.user(username)
    quota = quota_for(settings.get("profiles", {}), groups)
    status = home_status(u.get("home_bytes"), quota, settings["usage"]["warn_fraction"])
    at = store.data.get("homes_measured_at")
    return {
        "used": human(status.used),
        "quota": human(quota) if quota else "",
        "percent": status.percent,
        "level": status.level,
        "message": status.message,
        "measured_at": f"{dt.datetime.fromtimestamp(at, dt.UTC):%Y-%m-%d %H:%M} UTC" if at else "",
    }


def make_handler(store: UsageStore, settings: Mapping[str, Any], courses: Any = None) -> type:
    """The page and CSV handler (imports JupyterHub's handlers only when the hub runs).

    ``courses``: the hub's course gate (hdss_hub.courses), whose ``teaches`` names the
    courses a user instructs; None without courses."""
    from jupyterhub import orm
    from jupyterhub.handlers import BaseHandler
    from tornado import web

    class UsageHandler(BaseHandler):
        @web.authenticated
        async def get(self, suffix: str = "") -> None:
            user = self.current_user
            groups = {g.name: sorted(u.name for u in g.users) for g in self.db.query(orm.Group)}
            taught = [c.group for c in courses.teaches(user.name)] if courses else []
            shown = visible_groups(
                bool(user.admin), [g.name for g in user.groups], groups, settings["usage"], taught
            )
            if shown is None:
                raise web.HTTPError(
                    403, "Usage figures are shown to hub admins and course instructors only."
                )
            groups_of = {u.name: [g.name for g in u.groups] for u in self.db.query(orm.User)}
            rows = usage_rows(store, groups, groups_of, settings.get("profiles", {}), shown)
            if suffix == ".csv":
                self.set_header("Content-Type", "text/csv; charset=utf-8")
                self.set_header("Content-Disposition", 'attachment; filename="usage.csv"')
                self.finish(csv_text(rows))
                return
            at = store.data.get("homes_measured_at")
            html = await self.render_template(
                "usage.html",
                usage_rows=rows,
                usage_columns=COLUMNS,
                usage_groups=shown,
                usage_homes_at=(
                    f"{dt.datetime.fromtimestamp(at, dt.UTC):%Y-%m-%d %H:%M} UTC" if at else ""
                ),
            )
            self.finish(html)

    return UsageHandler


def usage_handlers(
    store: UsageStore, settings: Mapping[str, Any], courses: Any = None
) -> list[tuple[str, type]]:
    return [(r"/usage(\.csv)?", make_handler(store, settings, courses))]
