"""The hub's own pages: what a user may use, on one screen.

``apply_pages`` puts ``templates/`` in front of JupyterHub's and gives every page the
``hdss`` variable, computed per request by ``home_context`` from the settings and the
logged-in user: the datasets mounted in their server (from the catalogue), the profiles
they may start with their limits, and (ledger enabled, researchers) their projects.
The logic lives in the small functions below so unit tests run it without a hub.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from hdss_common.catalog import CatalogError, Sensitivity, load_catalog
from hdss_spawner.profiles import effective_groups, offered, parse_profiles
from traitlets.config import Config

from . import errorpages, usage, usagepages

TEMPLATES = Path(__file__).resolve().parent / "templates"
LEDGER_URL = "/services/ledger/"
log = logging.getLogger(__name__)


def dataset_rows(synthetic_root: str | Path) -> tuple[list[dict[str, str]], str]:
    """The synthetic datasets a server mounts, and a message when there are none or no root."""
    try:
        entries = load_catalog(Path(synthetic_root))
    except CatalogError as e:
        log.warning("home page: %s", e)
        return [], "The datasets are not available right now; tell the sandbox operator."
    rows = [
        {
            "name": e.name,
            "version": e.version,
            "mount_path": e.mount_path,
            "access": "read-only",
            "title": _title(e),
        }
        for e in entries
        if e.sensitivity == Sensitivity.SYNTHETIC
    ]
    return rows, "" if rows else "No dataset is published yet."


def _title(entry) -> str:
    try:
        return str(entry.manifest().get("title") or entry.name)
    except (OSError, ValueError):
        return entry.name


def profile_rows(profiles: Mapping[str, dict], groups: Iterable[str]) -> list[dict[str, str]]:
    """The sandbox profiles a member of ``groups`` may start, with their limits."""
    return [
        {
            "name": p.name,
            "title": p.title,
            "limits": p.limits,
            "description": p.description,
        }
        for p in offered(parse_profiles(dict(profiles)), list(groups))
    ]


def groups_of(user: Any, default_groups: Iterable[str]) -> list[str]:
    """The groups policy uses for ``user`` (hub groups, or the defaults when none)."""
    names = [g.name for g in getattr(user, "groups", None) or []]
    return effective_groups(names, list(default_groups))


def project_rows(permissions: Iterable[Any]) -> list[dict[str, str]]:
    """Ledger permissions as rows: project, datasets, state, reference, valid until."""
    rows = []
    for p in permissions:
        rows.append(
            {
                "project_id": p.project_id,
                "datasets": ", ".join(f"/data/restricted/{d}" for d in p.datasets),
                "state": p.state,
                "authority": p.authority,
                "reference": p.reference,
                "valid_until": f"{p.valid_until:%Y-%m-%d}",
            }
        )
    return rows


ProjectLookup = Callable[[str], Awaitable[list[Any]]]


def ledger_projects(settings: Mapping[str, Any]) -> ProjectLookup | None:
    """An async lookup username -> permissions when the ledger is enabled, else None.

    It reads the ledger in a thread pool of its own, never on the hub's event loop.
    """
    if not settings.get("ledger", {}).get("enabled"):
        return None
    from .ledger import hubconfig
    from .ledger.hubside import LedgerPermissions

    return LedgerPermissions(
        hubconfig.db_url(dict(settings)),
        migrate=False,
        anchor=hubconfig.audit_anchor(dict(settings)),
    ).projects_for


async def project_view(lookup: ProjectLookup, username: str) -> dict[str, Any]:
    """The home page's project table: ``rows`` and a ``note`` when there are none."""
    try:
        rows = project_rows(await lookup(username))
    except Exception as e:  # the ledger is another service: never break the home page
        log.warning("home page: cannot read the ledger for %s: %s", username, e)
        return {"rows": [], "note": "Your projects cannot be shown right now."}
    note = "" if rows else "You are a member of no project with a logged permission."
    return {"rows": rows, "note": note}


async def _no_projects() -> dict[str, Any]:
    return {"rows": [], "note": ""}


def home_context(
    settings: Mapping[str, Any],
    user: Any,
    projects: ProjectLookup | None = None,
    courses: Any = None,
) -> dict[str, Any]:
    """Everything the hub's pages show about ``user`` (None on the login and error pages).

    ``load_projects`` is a coroutine function: the page template calls it, and the hub's
    asynchronous Jinja environment awaits it, so no ledger read blocks the event loop.
    """
    ledger_on = bool(settings.get("ledger", {}).get("enabled"))
    if user is None:
        return {"user": None, "ledger_url": LEDGER_URL if ledger_on else ""}
    groups = groups_of(user, settings["auth"].get("default_groups", []))
    datasets, datasets_note = dataset_rows(settings["data"]["synthetic_root"])
    profiles = profile_rows(settings.get("profiles", {}), groups)
    steward_group = settings.get("ledger", {}).get("steward_group", "stewards")
    is_researcher = "researchers" in groups
    ctx: dict[str, Any] = {
        "user": user.name,
        "groups": groups,
        "datasets": datasets,
        "datasets_note": datasets_note,
        "profiles": profiles,
        "profiles_note": ""
        if profiles
        else "No server profile is offered to you; ask a hub administrator.",
        "show_projects": ledger_on and (is_researcher or steward_group in groups),
        "is_steward": steward_group in groups,
        "load_projects": _no_projects,
        "ledger_url": LEDGER_URL if ledger_on else "",
        "courses": courses.home_rows(user.name, groups) if courses is not None else [],
        "teaches": bool(courses.teaches(user.name, bool(getattr(user, "admin", False))))
        if courses is not None
        else False,
    }
    if ctx["show_projects"] and projects is not None:
        ctx["load_projects"] = partial(project_view, projects, user.name)
    u = settings.get("usage", {})
    if u.get("enabled"):
        store = usage_store(settings)
        ctx["home"] = usagepages.home_view(store, settings, user.name, groups)
        hub_groups = [g.name for g in getattr(user, "groups", None) or []]
        admin = bool(getattr(user, "admin", False))
        teacher = admin or u["instructor_group"] in hub_groups or ctx.get("teaches")
        ctx["usage_url"] = "/hub/usage" if teacher else ""
    return ctx


_STORES: dict[str, usage.UsageStore] = {}


def usage_store(settings: Mapping[str, Any]) -> usage.UsageStore:
    """The hub's one usage store (``<state_dir>/usage.json``), shared by pages and sampler."""
    path = str(Path(settings["hub"]["state_dir"], "usage.json"))
    if path not in _STORES:
        _STORES[path] = usage.UsageStore(Path(path))
    return _STORES[path]


def home_notice(settings: Mapping[str, Any]) -> Callable[[str, list[str]], str]:
    """For the spawner: the note shown at spawn when a home is over its quota."""

    def notice(username: str, groups: list[str]) -> str:
        view = usagepages.home_view(usage_store(settings), settings, username, groups)
        return view["message"] if view["level"] == "over" else ""

    return notice


def apply_usage(settings: dict[str, Any], c: Config, courses: Any = None) -> None:
    """The usage page and CSV, and the spawn page's quota note (see hdss_hub.usage).

    ``courses``: the course gate, so that a course's instructors see its group.

    Runs after apply_secure_audit: JupyterHub has one list of extra handlers, so the
    usage routes are added to what that function set.
    """
    if not settings["usage"].get("enabled"):
        return
    store = usage_store(settings)
    c.JupyterHub.extra_handlers = [
        *c.JupyterHub.get("extra_handlers", []),
        *usagepages.usage_handlers(store, settings, courses),
    ]
    c.SandboxSpawner.home_notice = home_notice(settings)


def start_usage_collector(settings: dict[str, Any]) -> None:
    """Start sampling (only inside the running hub: JupyterHub loads its config there)."""
    if settings["usage"].get("enabled"):
        usage.start_collector(settings, usage_store(settings))


def apply_pages(settings: dict[str, Any], c: Config, courses: Any = None) -> None:
    """The hub's own templates, and the ``hdss`` variable every page gets."""
    c.JupyterHub.template_paths = [str(TEMPLATES)]
    c.JupyterHub.template_vars = {
        "hdss": partial(
            home_context, settings, projects=ledger_projects(settings), courses=courses
        ),
        # error.html calls it: a heading that names what happened (hdss_hub.errorpages)
        "hdss_error_page": _error_page_function,
    }
    errorpages.install_handler()  # the proxy's error page asks about the server first


def _error_page_function(user: Any) -> Callable[..., dict[str, str]]:
    return errorpages.error_page
