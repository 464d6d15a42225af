"""The secure profile: a named server per project, opened only by an active permission.

A secure server is the named server ``secure-<project_id>``. It mounts the restricted
datasets of that project's permission read-only (nothing else restricted, nothing
synthetic), uses the project's own workspace volume instead of the sandbox home, sits on
an ``--internal`` Docker network (no egress; only the hub is reachable) and serves no
file downloads. Every start, stop and denial is an audit entry.
"""

from __future__ import annotations

from pathlib import Path

from hdss_common.catalog import CatalogEntry, CatalogError, Sensitivity, scan
from hdss_common.naming import SECURE_PREFIX, project_of
from tornado.web import HTTPError

__all__ = [
    "NO_DOWNLOAD_ARGS",
    "SECURE_PREFIX",
    "denial_message",
    "project_of",
    "requester_refusal",
    "restricted_entries",
    "uncovered",
]

# Jupyter server options that turn off downloads: no /files/ handler, no nbconvert export.
# The image's guard (hdss_secure, a server extension acting where HDSS_PROJECT is set)
# refuses API tokens, non-owners, downloads and large reads, and audits reads; the last
# option makes a guard that fails to load stop the server instead of leaving it open.
NO_DOWNLOAD_ARGS = (
    "--ContentsManager.files_handler_class=None",
    "--Exporter.enabled=False",
    "--ServerApp.reraise_server_extension_failures=True",
)


def restricted_entries(root: str, names: tuple[str, ...]) -> list[CatalogEntry]:
    """The published restricted datasets a permission names; 503 if one is missing."""
    if not root:
        raise HTTPError(503, "No restricted data root is configured (data.restricted_root).")
    try:
        published = {e.name: e for e in scan(Path(root), Sensitivity.RESTRICTED)}
    except CatalogError as e:
        raise HTTPError(503, f"The restricted datasets are not available: {e}") from e
    missing = [n for n in names if n not in published]
    if missing:
        raise HTTPError(
            503,
            f"The permission names restricted datasets that are not published: "
            f"{', '.join(missing)}. Ask a data steward to publish them or amend the permission.",
        )
    return [published[n] for n in names]


def denial_message(project_id: str, reason: str, steward_group: str) -> str:
    return (
        f"You cannot start the secure server of project {project_id}: {reason}. "
        f"Data stewards (group {steward_group}) log and renew permissions."
    )


def uncovered(permission, mounted: list[str]) -> str:
    """Why ``permission`` no longer covers a server that mounts ``mounted`` ('' if it does).

    ``permission`` is the project's active permission now (None when there is none).
    """
    if permission is None:
        return "the permission is no longer active"
    extra = sorted(set(mounted) - set(permission.datasets))
    if extra:
        return f"the permission no longer names the dataset(s) {', '.join(extra)}"
    return ""


def requester_refusal(handler, owner: str) -> tuple[str, str]:
    """(who asked, why refused) for a secure spawn; the reason is empty if allowed.

    Only the owner starts their secure server, or a service from the hub's own
    configuration (the operator's). A hub admin, a service added at run time, or a spawn
    with no request behind it is refused: admins run the hub but are not stewards.
    """
    who = getattr(handler, "current_user", None) if handler is not None else None
    if who is None:
        return "", "the spawn was not requested by the server's owner"
    name, kind = getattr(who, "name", ""), getattr(who, "kind", "user")
    if kind == "user" and name == owner:
        return name, ""
    if kind == "service" and getattr(who, "from_config", False):
        return name, ""
    return name, (
        f"only {owner} can start their secure server; {kind} {name} cannot start, open or "
        "share it (hub admins are not data stewards)"
    )
