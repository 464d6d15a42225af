"""The secure profile: a named server per project, opened only by an active permission.

A secure server is the named server ``secure-<project_id>``. It mounts the restricted
datasets of that project's permission read-only (nothing else restricted, nothing
synthetic), uses the project's own workspace volume instead of the sandbox home, sits on
an ``--internal`` Docker network (no egress; only the hub is reachable) and serves no
file downloads. Every start, stop and denial is an audit entry.
"""

from __future__ import annotations

import functools
from pathlib import Path

from hdss_common.catalog import CatalogEntry, CatalogError, Sensitivity, scan
from tornado.web import HTTPError

SECURE_PREFIX = "secure-"

# Jupyter server options that turn off downloads: no /files/ handler, no nbconvert export.
NO_DOWNLOAD_ARGS = (
    "--ContentsManager.files_handler_class=None",
    "--Exporter.enabled=False",
)


def project_of(server_name: str) -> str | None:
    """The project id of a secure server name, None for any other server."""
    if server_name.startswith(SECURE_PREFIX) and len(server_name) > len(SECURE_PREFIX):
        return server_name[len(SECURE_PREFIX) :]
    return None


@functools.lru_cache(maxsize=4)
def ledger_for(url: str, restricted_root: str):
    """One Ledger per database for the hub process (imported lazily: hub-side only)."""
    from hdss_hub.ledger.core import Ledger

    return Ledger(url, restricted_root=restricted_root or None)


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
