"""The reconciler: stops running secure servers that their permission no longer covers.

Secure servers are named servers called ``secure-<project_id>`` (hdss_common.naming). On
every pass each running one is compared with the ledger as it is now:

* its owner must still be a member of an active permission for the project;
* every dataset it mounted (as its ``secure.start`` audit entry records) must still be
  named by that permission (an amendment that drops a dataset stops the server);
* its owner must still be in a group that may use secure servers (``secure_groups``).

Anything else stops the server; every stop is an audit entry with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from hdss_common.naming import project_of

from .core import Ledger
from .hubapi import HubAPI, HubAPIError

log = logging.getLogger(__name__)

ACTOR = "ledger-reconciler"


def mounted_datasets(ledger: Ledger, target: str) -> list[str]:
    """The dataset names a running secure server mounted, from its last start entry."""
    started = ledger.audit.latest("secure.start", target, outcome="started")
    if started is None:
        return []
    return [str(d).split("@", 1)[0] for d in started.details.get("datasets", [])]


def mismatch(
    ledger: Ledger,
    username: str,
    project_id: str,
    target: str,
    groups: Collection[str],
    secure_groups: Collection[str],
) -> str:
    """Why the server ``target`` must stop now ('' when its permission still covers it)."""
    permission = ledger.active_permission(username, project_id)
    if permission is None:
        return ledger.why_not(username, project_id)
    dropped = sorted(set(mounted_datasets(ledger, target)) - set(permission.datasets))
    if dropped:
        return (
            f"permission {permission.reference} no longer names the mounted dataset(s) "
            f"{', '.join(dropped)}"
        )
    if secure_groups and not set(groups) & set(secure_groups):
        return (
            f"{username} is no longer in a group that may use secure servers "
            f"({', '.join(sorted(secure_groups))})"
        )
    return ""


async def reconcile_once(
    ledger: Ledger, hub: HubAPI, secure_groups: Collection[str] = ()
) -> list[tuple[str, str]]:
    """One pass; returns the ``(username, server_name)`` pairs asked to stop."""
    stopped = []
    for username, name, server, groups in await hub.running_servers():
        project_id = project_of(name)
        if project_id is None or server.get("pending") == "stop":
            continue
        target = f"server:{username}/{name}"
        reason = mismatch(ledger, username, project_id, target, groups, secure_groups)
        if not reason:
            continue
        if await stop(ledger, hub, username, name, project_id, reason):
            stopped.append((username, name))
    return stopped


async def stop(
    ledger: Ledger, hub: HubAPI, username: str, name: str, project_id: str, reason: str
) -> bool:
    """Ask the hub to stop one server and audit the outcome; True if it was asked."""
    target = f"server:{username}/{name}"
    details = {"user": username, "project_id": project_id, "reason": reason}
    try:
        code = await hub.stop_server(username, name)
    except HubAPIError as e:
        log.error("could not stop %s: %s", target, e)
        ledger.audit.append(ACTOR, "server.stop", target, "failed", **details, error=str(e))
        return False
    outcome = "stopped" if code in (202, 204) else "gone"
    log.warning("stopped %s (%s): %s", target, code, reason)
    ledger.audit.append(ACTOR, "server.stop", target, outcome, **details, status=code)
    return True
