"""Wire the courses into the hub: checked at start, one gate, a page, a token for the CLI."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hdss_common.secretfiles import ensure_secret_file

from ..settings import archive_root
from .gate import CourseGate
from .materials import prepare
from .model import Course, check, load, with_course_profiles
from .store import CourseStore

log = logging.getLogger(__name__)

SERVICE = "hdss-course"
# hdss-course end: find each course's members, see and stop their servers.
SERVICE_SCOPES = ["list:users", "read:users", "read:groups", "list:groups", "servers"]


def state_dir(settings: dict[str, Any]) -> Path:
    return Path(settings["hub"]["state_dir"])


def token_file(settings: dict[str, Any]) -> Path:
    return state_dir(settings) / "secrets" / "course-api-token"


def prepare_courses(settings: dict[str, Any]) -> tuple[list[Course], dict[str, Path]]:
    """The courses, checked, with a snapshot of each one's materials; CourseError else."""
    courses = load(settings)
    check(settings, courses)
    cache = state_dir(settings) / "courses" / "materials"
    snapshots = {}
    for c in courses:
        snapshot = prepare(c, cache)
        if snapshot is not None:
            snapshots[c.name] = snapshot
    return courses, snapshots


def audit_writer(settings: dict[str, Any]):
    """``append(actor, action, target, outcome, **details)`` on the sandbox's audit chain."""
    from ..audit import AuditLog
    from ..ledger.hubconfig import audit_anchor, db_url

    holder: dict[str, AuditLog] = {}

    def append(actor: str, action: str, target: str, outcome: str, **details: Any) -> None:
        if "log" not in holder:
            holder["log"] = AuditLog(db_url(settings), anchor=audit_anchor(settings))
        holder["log"].append(actor, action, target, outcome, **details)

    return append


def make_gate(
    settings: dict[str, Any], courses: list[Course], snapshots: dict[str, Path]
) -> CourseGate:
    return CourseGate(
        courses,
        CourseStore.in_state_dir(state_dir(settings)),
        snapshots=snapshots,
        audit=audit_writer(settings),
        docker_host=settings["docker"]["host"],
        admins=settings["hub"].get("admin_users", []),
    )


def course_services(settings: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """The API-only service whose token ``hdss-course end`` uses, and its role."""
    if not settings.get("courses"):
        return [], []
    token = ensure_secret_file(token_file(settings))
    services = [{"name": SERVICE, "api_token": token}]
    roles = [
        {
            "name": SERVICE,
            "description": "hdss-course end: stop the servers of an ended course's members",
            "scopes": SERVICE_SCOPES,
            "services": [SERVICE],
        }
    ]
    return services, roles


def apply_courses(settings: dict[str, Any], c, gate: CourseGate) -> None:
    """The gate in the spawner, the login hook, the home page and the instructor page.

    ``extra_handlers`` keeps the routes set before it (the secure servers' audit route).
    """
    from .handlers import course_handlers

    c.SandboxSpawner.course_gate = gate
    c.Authenticator.post_auth_hook = gate.post_auth_hook
    before = list(c.JupyterHub.extra_handlers) if "extra_handlers" in c.JupyterHub else []
    c.JupyterHub.extra_handlers = [*before, *course_handlers(gate)]


def archives(settings: dict[str, Any]) -> Path:
    return archive_root(settings)


__all__ = [
    "apply_courses",
    "course_services",
    "make_gate",
    "prepare_courses",
    "with_course_profiles",
]
